"""Videos: open the container with PyAV (FFmpeg), read container, codec, duration and size, and decode one
frame early in the stream as the poster a citizen sees."""

from pathlib import Path

import av

from media.images import encode_preview
from media.sniff import Rejected

POSTER_SEEK_SECONDS = 1.0
ALLOWED_CODECS = {"h264", "hevc", "mpeg4", "av1", "vp9"}


def probe(path: Path, *, max_seconds: float) -> dict:
    """Container facts of a video; Rejected when it does not open, has no video stream or runs too long."""
    try:
        with av.open(str(path), mode="r", metadata_errors="ignore") as container:
            streams = container.streams.video
            if not streams:
                raise Rejected("no_video_stream")
            stream = streams[0]
            codec = stream.codec_context.name
            if codec not in ALLOWED_CODECS:
                raise Rejected("unsupported_codec")
            duration = _duration(container, stream)
            if duration is None or duration <= 0:
                raise Rejected("corrupt")
            if duration > max_seconds:
                raise Rejected("too_long")
            audio = container.streams.audio
            return {
                "container": container.format.name,
                "codec": codec,
                "duration": round(duration, 3),
                "width": stream.codec_context.width,
                "height": stream.codec_context.height,
                "audio_codec": audio[0].codec_context.name if audio else None,
            }
    except Rejected:
        raise
    except (av.error.FFmpegError, ValueError, IndexError, OSError) as exc:
        raise Rejected("corrupt") from exc


def poster(path: Path) -> bytes:
    """A JPEG of one early frame (about a second in, or the first frame of a shorter clip), without metadata."""
    try:
        with av.open(str(path), mode="r", metadata_errors="ignore") as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            target = None
            if stream.time_base and (container.duration or 0) > POSTER_SEEK_SECONDS * av.time_base * 2:
                target = int(POSTER_SEEK_SECONDS / stream.time_base)
                container.seek(target, stream=stream, any_frame=False, backward=True)
            for frame in container.decode(stream):
                return encode_preview(frame.to_image())
    except (av.error.FFmpegError, ValueError, IndexError, OSError) as exc:
        raise Rejected("corrupt") from exc
    raise Rejected("corrupt")


def _duration(container, stream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None

"""Photos: prove a file decodes as the image it claims to be, within a pixel budget, and make a preview
for citizens that carries no EXIF (location above all). The original is never touched.

Decoding is what costs memory (a 0.77 MB JPEG of 7000x7000 pixels is ~190 MB of pixels at full size), so a photo
is decoded once, at a reduced scale where the format allows it (JPEG's DCT scaling, `Image.draft`: 1/2 to 1/8 of
each edge, every coded block still read, so truncation and corruption are still found), shrunk in place to the
preview, and only `decodes` photos are decoded at a time in a process (a semaphore; the others wait).
"""

import io
import threading
import warnings
from contextlib import contextmanager
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from media.sniff import Rejected, Sniffed

PREVIEW_EDGE = 1280
FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG"}
_slots_lock = threading.Lock()
_slots: dict[int, threading.BoundedSemaphore] = {}


@contextmanager
def decode_slot(decodes: int):
    """Wait for one of this process's `decodes` decoding slots and hold it."""
    with _slots_lock:
        slots = _slots.setdefault(max(1, decodes), threading.BoundedSemaphore(max(1, decodes)))
    with slots:
        yield


def check(path: Path, sniffed: Sniffed, *, max_pixels: int, decodes: int = 2) -> tuple[dict, bytes]:
    """Decode the image once, at a reduced scale where possible; return its facts and a clean JPEG preview.
    Rejected on a decompression bomb, a lie about the format or corruption."""
    try:
        with decode_slot(decodes), warnings.catch_warnings():
            # Pillow only warns between its limit and twice its limit; any bomb warning is a refusal here.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path, formats=[FORMATS[sniffed.content_type]]) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise Rejected("too_many_pixels")
                mode = image.mode
                if image.format == "JPEG":
                    image.draft("RGB", (PREVIEW_EDGE, PREVIEW_EDGE))  # decode at the smallest scale still >= preview
                image.load()
                image.thumbnail((PREVIEW_EDGE, PREVIEW_EDGE))  # in place: the full pixels go at once
                ImageOps.exif_transpose(image, in_place=True)
                preview = encode_preview(image)
    except Rejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise Rejected("too_many_pixels") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise Rejected("corrupt") from exc
    return {"width": width, "height": height, "mode": mode}, preview


def inspect(path: Path, sniffed: Sniffed, *, max_pixels: int, decodes: int = 2) -> dict:
    """The image's facts (width, height, mode) once it decodes; Rejected otherwise (see `check`)."""
    return check(path, sniffed, max_pixels=max_pixels, decodes=decodes)[0]


def preview(path: Path, *, max_pixels: int, decodes: int = 2) -> bytes:
    """A JPEG preview, turned upright, at most PREVIEW_EDGE pixels wide or high, with no metadata at all."""
    with Image.open(path) as image:
        content_type = {"JPEG": "image/jpeg", "PNG": "image/png"}.get(image.format)
    if content_type is None:
        raise Rejected("corrupt")
    return check(path, Sniffed(content_type), max_pixels=max_pixels, decodes=decodes)[1]


def encode_preview(image: Image.Image) -> bytes:
    """Re-encode pixels only: a fresh image object has no EXIF, XMP or ICC text to carry over."""
    image = image.convert("RGB")
    image.thumbnail((PREVIEW_EDGE, PREVIEW_EDGE))
    clean = Image.new("RGB", image.size)
    clean.paste(image)
    out = io.BytesIO()
    clean.save(out, format="JPEG", quality=82, optimize=True)
    return out.getvalue()

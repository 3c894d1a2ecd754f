"""Photos: prove a file decodes as the image it claims to be, within a pixel budget, and make a preview
for citizens that carries no EXIF (location above all). The original is never touched."""

import io
import warnings
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from media.sniff import Rejected, Sniffed

PREVIEW_EDGE = 1280
FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG"}


def inspect(path: Path, sniffed: Sniffed, *, max_pixels: int) -> dict:
    """Decode the whole image once; Rejected on a decompression bomb, a lie about the format or corruption."""
    try:
        with warnings.catch_warnings():
            # Pillow only warns between its limit and twice its limit; any bomb warning is a refusal here.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path, formats=[FORMATS[sniffed.content_type]]) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise Rejected("too_many_pixels")
                image.load()
                mode = image.mode
    except Rejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise Rejected("too_many_pixels") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise Rejected("corrupt") from exc
    return {"width": width, "height": height, "mode": mode}


def preview(path: Path, *, max_pixels: int) -> bytes:
    """A JPEG preview, turned upright, at most PREVIEW_EDGE pixels wide or high, with no metadata at all."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(path) as image:
            if image.size[0] * image.size[1] > max_pixels:
                raise Rejected("too_many_pixels")
            if image.format == "JPEG":
                image.draft("RGB", (PREVIEW_EDGE, PREVIEW_EDGE))  # decode at a reduced scale: less memory
            upright = ImageOps.exif_transpose(image)
            return encode_preview(upright)


def encode_preview(image: Image.Image) -> bytes:
    """Re-encode pixels only: a fresh image object has no EXIF, XMP or ICC text to carry over."""
    image = image.convert("RGB")
    image.thumbnail((PREVIEW_EDGE, PREVIEW_EDGE))
    clean = Image.new("RGB", image.size)
    clean.paste(image)
    out = io.BytesIO()
    clean.save(out, format="JPEG", quality=82, optimize=True)
    return out.getvalue()

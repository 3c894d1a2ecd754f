"""Media checks on real files: content sniffing, structure walks that catch appended payloads without
flagging legitimate files, Pillow limits, EXIF-free previews, and write-once storage."""

import hashlib
import io
import os
import stat
import struct
import threading

import pytest
from PIL import Image
from werkzeug.exceptions import RequestEntityTooLarge

from media import images
from media.sniff import Rejected, check_structure, sniff
from media.storage import LocalStorage
from media.uploads import Spool
from tests.miniapp_support import ELF_HEADER, jpeg_with_gps, make_mp4, png_bomb, png_bytes, zip_bytes


def check(tmp_path, data: bytes) -> str:
    path = tmp_path / "file"
    path.write_bytes(data)
    sniffed = sniff(data[:64])
    check_structure(path, sniffed)
    return sniffed.content_type


def jpeg(**options) -> bytes:
    out = io.BytesIO()
    Image.frombytes("RGB", (64, 64), os.urandom(64 * 64 * 3)).save(out, format="JPEG", **options)
    return out.getvalue()


def test_legitimate_jpegs_pass(tmp_path):
    assert check(tmp_path, jpeg()) == "image/jpeg"
    assert check(tmp_path, jpeg(progressive=True)) == "image/jpeg"  # several scans
    assert check(tmp_path, jpeg_with_gps()) == "image/jpeg"
    assert check(tmp_path, jpeg() + b"\x00" * 100) == "image/jpeg"  # zero padding some encoders leave


def test_a_jpeg_thumbnail_inside_an_app_segment_is_not_mistaken_for_an_appended_file(tmp_path):
    inner = jpeg()
    segment = b"\xff\xe2" + struct.pack(">H", len(inner) + 2) + inner
    outer = jpeg()
    assert check(tmp_path, outer[:2] + segment + outer[2:]) == "image/jpeg"


@pytest.mark.parametrize("tail", [zip_bytes(), b"<html><script>alert(1)</script></html>", ELF_HEADER, b"\x01"])
def test_anything_appended_to_a_photo_is_refused(tmp_path, tail):
    with pytest.raises(Rejected) as refused:
        check(tmp_path, jpeg() + tail)
    assert refused.value.reason == "polyglot"
    with pytest.raises(Rejected):
        check(tmp_path, png_bytes() + tail)


def test_mp4_must_end_with_its_last_box(tmp_path):
    video = make_mp4(tmp_path / "v.mp4").read_bytes()
    assert check(tmp_path, video) == "video/mp4"
    with pytest.raises(Rejected) as refused:
        check(tmp_path, video + zip_bytes())
    assert refused.value.reason == "polyglot"


@pytest.mark.parametrize("head", [ELF_HEADER, b"MZ\x90\x00", b"PK\x03\x04", b"GIF89a", b"<svg", b"%PDF-1.7", b""])
def test_only_jpeg_png_and_mp4_are_recognised(head):
    with pytest.raises(Rejected) as refused:
        sniff(head)
    assert refused.value.reason == "unsupported_type"


def test_decompression_bomb_is_refused_before_decoding(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_bomb())
    with pytest.raises(Rejected) as refused:
        images.inspect(path, sniff(path.read_bytes()[:64]), max_pixels=50_000_000)
    assert refused.value.reason == "too_many_pixels"
    # Pillow's own bomb error is turned into the same refusal when our limit is set above it.
    with pytest.raises(Rejected) as refused:
        images.inspect(path, sniff(path.read_bytes()[:64]), max_pixels=10**12)
    assert refused.value.reason == "too_many_pixels"


def test_preview_has_no_exif_and_is_upright_while_the_original_is_untouched(tmp_path):
    image = Image.new("RGB", (40, 20), (255, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees to display
    exif[0x8825] = {1: "N", 2: (30.0, 16.0, 27.0), 3: "E", 4: (120.0, 9.0, 18.0)}
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    path = tmp_path / "photo.jpg"
    path.write_bytes(out.getvalue())
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    preview = Image.open(io.BytesIO(images.preview(path, max_pixels=10**6)))
    assert preview.size == (20, 40)
    assert not preview.getexif() and "exif" not in preview.info
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def _large_jpeg(tmp_path, edge: int = 2800):
    image = Image.radial_gradient("L").resize((edge, edge)).convert("RGB")
    path = tmp_path / "large.jpg"
    image.save(path, format="JPEG", quality=90)
    return path


def test_a_large_jpeg_is_checked_at_reduced_scale_and_a_truncated_one_is_still_refused(tmp_path):
    path = _large_jpeg(tmp_path)
    with Image.open(path) as probe_image:
        probe_image.draft("RGB", (images.PREVIEW_EDGE, images.PREVIEW_EDGE))
        assert probe_image.size == (1400, 1400)  # the scale the check decodes at: half of each edge
    meta, preview = images.check(path, sniff(path.read_bytes()[:64]), max_pixels=50_000_000)
    assert (meta["width"], meta["height"]) == (2800, 2800)
    assert Image.open(io.BytesIO(preview)).size == (images.PREVIEW_EDGE, images.PREVIEW_EDGE)
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(Rejected) as refused:
        images.check(cut, sniff(cut.read_bytes()[:64]), max_pixels=50_000_000)
    assert refused.value.reason == "corrupt"


def test_only_the_configured_number_of_photos_decode_at_once(tmp_path):
    path = _large_jpeg(tmp_path, edge=600)
    sniffed = sniff(path.read_bytes()[:64])
    done = threading.Event()

    def second():
        images.check(path, sniffed, max_pixels=10**7, decodes=1)
        done.set()

    with images.decode_slot(1):  # the one slot is taken
        waiting = threading.Thread(target=second)
        waiting.start()
        assert not done.wait(0.5)  # the second decode waits for it
    assert done.wait(10)
    waiting.join()


def test_spool_refuses_to_grow_past_its_limit(tmp_path):
    spool = Spool(tmp_path, limit=10)
    spool.write(b"12345")
    with pytest.raises(RequestEntityTooLarge):
        spool.write(b"123456")
    spool.discard()
    assert list(tmp_path.iterdir()) == []


def test_storage_hashes_while_saving_and_keeps_files_read_only(tmp_path):
    store = LocalStorage(tmp_path)
    data = os.urandom(3 * 1024 * 1024 + 17)
    saved = store.save(io.BytesIO(data), suffix=".bin")
    assert saved.sha256 == hashlib.sha256(data).hexdigest() and saved.size == len(data)
    assert store.exists(saved.key) and store.open(saved.key).read() == data
    assert not store.path(saved.key).stat().st_mode & stat.S_IWUSR
    with pytest.raises(ValueError):
        store.path("../../etc/passwd")
    store.delete(saved.key)
    assert not store.exists(saved.key)

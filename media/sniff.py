"""What a file really is, decided from its bytes (never its name or declared type), and whether anything
else hides in it: an image or video must end where its own structure ends (no appended archive or page)."""

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

JPEG, PNG, MP4 = "image/jpeg", "image/png", "video/mp4"
IMAGE_TYPES = (JPEG, PNG)
VIDEO_TYPES = (MP4,)

# ISO base media brands a phone camera or the mini-program's recorder produces.
MP4_BRANDS = {
    b"isom",
    b"iso2",
    b"iso4",
    b"iso5",
    b"iso6",
    b"mp41",
    b"mp42",
    b"avc1",
    b"M4V ",
    b"qt  ",
    b"3gp4",
    b"3gp5",
    b"3gp6",
    b"3g2a",
    b"MSNV",
    b"dash",
}
MP4_TOP_BOXES = {
    b"ftyp",
    b"moov",
    b"mdat",
    b"free",
    b"skip",
    b"wide",
    b"uuid",
    b"meta",
    b"pdin",
    b"moof",
    b"mfra",
    b"styp",
    b"sidx",
    b"udta",
}


class Rejected(Exception):
    """The file is not an acceptable piece of evidence; `reason` names why (a key into the reply texts)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Sniffed:
    content_type: str

    @property
    def kind(self) -> str:
        return "image" if self.content_type in IMAGE_TYPES else "video"

    @property
    def suffix(self) -> str:
        return {JPEG: ".jpg", PNG: ".png", MP4: ".mp4"}[self.content_type]


def sniff(head: bytes) -> Sniffed:
    """The content type the first bytes prove; Rejected("unsupported_type") for anything else."""
    if head.startswith(b"\xff\xd8\xff"):
        return Sniffed(JPEG)
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed(PNG)
    if len(head) >= 12 and head[4:8] == b"ftyp" and head[8:12] in MP4_BRANDS:
        return Sniffed(MP4)
    raise Rejected("unsupported_type")


def check_structure(path: Path, sniffed: Sniffed) -> None:
    """Walk the file's own structure to its end; Rejected("polyglot") if bytes of something else follow."""
    with path.open("rb") as stream:
        size = path.stat().st_size
        {JPEG: _jpeg_end, PNG: _png_end, MP4: _mp4_end}[sniffed.content_type](stream, size)


def _png_end(stream: BinaryIO, size: int) -> None:
    stream.seek(8)
    while True:
        header = stream.read(8)
        if len(header) < 8:
            raise Rejected("corrupt")
        length = int.from_bytes(header[:4], "big")
        if length > size:
            raise Rejected("corrupt")
        stream.seek(length + 4, 1)  # data and CRC
        if header[4:8] == b"IEND":
            break
    if stream.tell() != size:
        raise Rejected("polyglot")


def _mp4_end(stream: BinaryIO, size: int) -> None:
    position = 0
    while position < size:
        stream.seek(position)
        header = stream.read(16)
        if len(header) < 8:
            raise Rejected("polyglot")
        box_size, box_type = int.from_bytes(header[:4], "big"), header[4:8]
        if box_type not in MP4_TOP_BOXES:
            raise Rejected("polyglot")
        if box_size == 1:
            if len(header) < 16:
                raise Rejected("corrupt")
            box_size = int.from_bytes(header[8:16], "big")
        elif box_size == 0:
            box_size = size - position  # "extends to the end of the file"
        if box_size < 8 or position + box_size > size:
            raise Rejected("corrupt")
        position += box_size


def _jpeg_end(stream: BinaryIO, size: int) -> None:
    """Follow the marker segments and entropy-coded scans to the top-level EOI (thumbnails in APPn are skipped)."""
    reader = _Bytes(stream)
    reader.skip(2)  # SOI
    while True:
        byte = reader.next()
        if byte != 0xFF:
            raise Rejected("corrupt")
        marker = reader.next()
        while marker == 0xFF:  # fill bytes
            marker = reader.next()
        if marker == 0xD9:  # EOI
            break
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            continue
        length = (reader.next() << 8) | reader.next()
        if length < 2:
            raise Rejected("corrupt")
        reader.skip(length - 2)
        if marker == 0xDA:  # start of scan: entropy-coded data until a marker other than RSTn or a stuffed 00
            marker = reader.scan_to_marker()
            reader.push_back(marker)
    rest = reader.remaining()
    # Some encoders pad after EOI with zeros; anything else is a second file riding along.
    while chunk := rest.read(65536):
        if chunk.strip(b"\x00"):
            raise Rejected("polyglot")


class _Bytes:
    """Buffered byte-at-a-time reading over a file, for the JPEG walk."""

    def __init__(self, stream: BinaryIO):
        self.stream = stream
        self.buffer = b""
        self.offset = 0
        self.pending: list[int] = []

    def _fill(self) -> None:
        self.buffer = self.stream.read(65536)
        self.offset = 0
        if not self.buffer:
            raise Rejected("corrupt")

    def next(self) -> int:
        if self.pending:
            return self.pending.pop()
        if self.offset >= len(self.buffer):
            self._fill()
        byte = self.buffer[self.offset]
        self.offset += 1
        return byte

    def skip(self, count: int) -> None:
        available = len(self.buffer) - self.offset
        if count <= available:
            self.offset += count
            return
        self.stream.seek(count - available, 1)
        self.buffer, self.offset = b"", 0

    def scan_to_marker(self) -> int:
        while True:
            if self.offset >= len(self.buffer):
                self._fill()
            index = self.buffer.find(b"\xff", self.offset)
            if index < 0:
                self.offset = len(self.buffer)
                continue
            self.offset = index + 1
            following = self.next()
            if following == 0x00 or 0xD0 <= following <= 0xD7:
                continue
            while following == 0xFF:
                following = self.next()
            return following

    def push_back(self, marker: int) -> None:
        self.pending.extend([marker, 0xFF])

    def remaining(self) -> BinaryIO:
        self.stream.seek(self.offset - len(self.buffer), 1)
        self.buffer, self.offset = b"", 0
        return self.stream

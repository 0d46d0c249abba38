"""The PNG reader the browser test relies on: every filter type undone exactly, bad files refused."""

from __future__ import annotations

import random
import struct
import zlib

import pytest

from tests.e2e.png import SIGNATURE, PngImage, read_png, write_png


def _paeth(a: int, b: int, c: int) -> int:
    estimate = a + b - c
    pa, pb, pc = abs(estimate - a), abs(estimate - b), abs(estimate - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def _filtered(rows: list[bytes], channels: int, kinds: list[int]) -> bytes:
    """Rows filtered as an encoder would (the PNG specification, byte by byte), one filter type per row."""
    out = bytearray()
    previous = bytes(len(rows[0]))
    for row, kind in zip(rows, kinds, strict=True):
        out.append(kind)
        for index, value in enumerate(row):
            left = row[index - channels] if index >= channels else 0
            up = previous[index]
            corner = previous[index - channels] if index >= channels else 0
            predictor = [0, left, up, (left + up) // 2, _paeth(left, up, corner)][kind]
            out.append((value - predictor) & 0xFF)
        previous = row
    return bytes(out)


def _png(width: int, height: int, colour_type: int, data: bytes) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(data)) + chunk(b"IEND", b"")


@pytest.mark.parametrize(("colour_type", "channels"), [(2, 3), (6, 4), (0, 1)])
def test_every_filter_type_is_undone(colour_type: int, channels: int) -> None:
    generator = random.Random(colour_type)
    width, height = 37, 10  # a width that is no power of two: the prefix sums of Sub cross every boundary
    rows = [bytes(generator.randrange(256) for _ in range(width * channels)) for _ in range(height)]
    kinds = [0, 1, 2, 3, 4, 4, 3, 2, 1, 0]
    image = read_png(_png(width, height, colour_type, _filtered(rows, channels, kinds)))
    assert (image.width, image.height, image.channels) == (width, height, channels)
    assert image.rows == rows
    assert image.pixel(1, 0) == rows[0][channels : 2 * channels]


def test_a_blank_image_has_one_colour_and_reads_back_as_written() -> None:
    blank = PngImage(4, 3, 3, [b"\xff" * 12] * 3)
    assert read_png(write_png(blank)) == blank
    assert blank.colours() == {b"\xff\xff\xff"}


def test_what_is_not_a_png_is_refused() -> None:
    with pytest.raises(ValueError, match="signature"):
        read_png(b"GIF89a")
    good = write_png(PngImage(1, 1, 3, [b"\x00\x00\x00"]))
    with pytest.raises(ValueError, match="CRC"):
        read_png(good[:-1] + bytes([good[-1] ^ 1]))  # a bit flipped in the last checksum
    with pytest.raises(ValueError, match="truncated"):
        read_png(good[:-20])

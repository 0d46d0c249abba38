"""Reading a PNG with the standard library alone (zlib): enough to tell a real screenshot from a blank one.

Handles what browsers write: 8-bit greyscale, RGB and RGBA, not interlaced. Rows are unfiltered
as the PNG specification says; the two filters that need no look-back within a row's bytes
(Up, and Sub by prefix sums) work on whole rows as big integers, so a 1280 × 4000 screenshot
decodes in seconds even where the byte-by-byte filters (Average, Paeth) are used.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

__all__ = ["PngImage", "read_png", "write_png"]

SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}  # colour type → samples per pixel


@dataclass(frozen=True)
class PngImage:
    """A decoded image: its size, samples per pixel, and its rows of raw samples (8 bits each)."""

    width: int
    height: int
    channels: int
    rows: list[bytes]

    def pixel(self, x: int, y: int) -> bytes:
        """The samples of one pixel (RGB, RGBA, grey …)."""
        start = x * self.channels
        return self.rows[y][start : start + self.channels]

    def colours(self, *, step: int = 1) -> set[bytes]:
        """The distinct pixel values, looking at every ``step``-th row and column."""
        seen: set[bytes] = set()
        width = self.channels
        for row in self.rows[::step]:
            for start in range(0, len(row), width * step):
                seen.add(row[start : start + width])
        return seen


def _add(left: int, right: int, high: int) -> int:
    """Byte-wise addition modulo 256 of two rows held as integers (no carry between bytes)."""
    low = ~high
    return ((left & low) + (right & low)) ^ ((left ^ right) & high)


def _unfilter(data: bytes, width: int, height: int, channels: int) -> list[bytes]:
    stride = width * channels
    high = int.from_bytes(b"\x80" * stride, "big")
    previous = bytes(stride)
    rows: list[bytes] = []
    position = 0
    for _ in range(height):
        kind = data[position]
        line = data[position + 1 : position + 1 + stride]
        position += 1 + stride
        if kind == 0:
            row = line
        elif kind == 1:  # Sub: a prefix sum per channel, by doubling shifts
            value = int.from_bytes(line, "big")
            shift = channels
            while shift < stride:
                value = _add(value, value >> (8 * shift), high)
                shift *= 2
            row = value.to_bytes(stride, "big")
        elif kind == 2:  # Up
            row = _add(int.from_bytes(line, "big"), int.from_bytes(previous, "big"), high).to_bytes(stride, "big")
        elif kind == 3:  # Average
            out = bytearray(stride)
            for index in range(stride):
                left = out[index - channels] if index >= channels else 0
                out[index] = (line[index] + ((left + previous[index]) >> 1)) & 0xFF
            row = bytes(out)
        elif kind == 4:  # Paeth
            out = bytearray(stride)
            for index in range(stride):
                a = out[index - channels] if index >= channels else 0
                b = previous[index]
                c = previous[index - channels] if index >= channels else 0
                estimate = a + b - c
                pa, pb, pc = abs(estimate - a), abs(estimate - b), abs(estimate - c)
                predictor = a if pa <= pb and pa <= pc else b if pb <= pc else c
                out[index] = (line[index] + predictor) & 0xFF
            row = bytes(out)
        else:
            raise ValueError(f"unknown PNG filter type {kind}")
        rows.append(row)
        previous = row
    return rows


def read_png(data: bytes) -> PngImage:
    """Decode a PNG; raises ValueError for anything that is not one this reader handles."""
    if not data.startswith(SIGNATURE):
        raise ValueError("not a PNG: the signature is missing")
    position = len(SIGNATURE)
    header: tuple[int, ...] | None = None
    compressed = bytearray()
    while position < len(data):
        if position + 12 > len(data):
            raise ValueError("PNG truncated inside a chunk header")
        (length,) = struct.unpack(">I", data[position : position + 4])
        if position + 12 + length > len(data):
            raise ValueError("PNG truncated: a chunk runs past the end of the file")
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        (checksum,) = struct.unpack(">I", data[position + 8 + length : position + 12 + length])
        if zlib.crc32(kind + body) != checksum:
            raise ValueError(f"PNG chunk {kind!r} fails its CRC")
        position += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            compressed += body
        elif kind == b"IEND":
            break
    if header is None:
        raise ValueError("PNG without IHDR")
    width, height, depth, colour_type, _, _, interlace = header
    if depth != 8 or colour_type not in _CHANNELS or interlace != 0:
        raise ValueError(f"unsupported PNG: depth {depth}, colour type {colour_type}, interlace {interlace}")
    channels = _CHANNELS[colour_type]
    raw = zlib.decompress(bytes(compressed))
    if len(raw) != height * (1 + width * channels):
        raise ValueError("PNG image data has the wrong length for its size")
    return PngImage(width, height, channels, _unfilter(raw, width, height, channels))


def write_png(image: PngImage) -> bytes:
    """Encode rows as a PNG (no filtering): for looking at a part of a screenshot."""
    colour_type = {channels: kind for kind, channels in _CHANNELS.items()}[image.channels]

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", image.width, image.height, 8, colour_type, 0, 0, 0)
    raw = b"".join(b"\x00" + row for row in image.rows)
    return SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")

#!/usr/bin/python3
"""Writes the parser examples' inputs into this directory. Deterministic: run it again after a
change and commit what it writes.

  good.png        64x48 8-bit RGBA, a gradient
  interlaced.png  the same pixels, Adam7-interlaced
  wide.png        1500000x1 8-bit gray: wider than libpng's default limit (1000000)
  bomb.png        declares 60000x60000 8-bit gray (14.4 GB once decoded to RGBA); its IDAT
                  holds 64 MiB of compressed zeros, 65 KB
  row_bomb.png    declares 100000000x1 8-bit gray: libpng's own row buffer for 8-bit RGBA is
                  400 MB, allocated before the image; its IDAT holds 1 MiB of zeros, 1 KB
  good.xml        a small catalog
  good.tar.gz     three files
  bomb.tar.xz     a tar of one 768 MiB file of zeros, 115 KB, whose xz block header asks for a
                  768 MiB dictionary: an xz decoder allocates it before decoding a byte
  slow.tar.bz2    a tar of one 4 GiB file of zeros, 3 KB: listing it decompresses 4 GiB (about
                  10 s), in little memory
"""

import bz2
import gzip
import io
import lzma
import os
import struct
import tarfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def write(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width, height, bit_depth, color_type, idat, interlace=0):
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, interlace)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) +
            png_chunk(b"IEND", b""))


def compressed_zeros(compressor, count):
    block = bytes(1 << 20)
    out = []
    while count > 0:
        n = min(count, len(block))
        out.append(compressor.compress(block[:n]))
        count -= n
    out.append(compressor.flush())
    return b"".join(out)


GOOD_WIDTH, GOOD_HEIGHT = 64, 48


def gradient(x, y):
    """good.png's pixel at (x, y); examples/png_summary_test.cc computes the same."""
    return bytes([x * 4, y * 5, (x + y) * 2, 255 - x])


def good_png():
    raw = bytearray()
    for y in range(GOOD_HEIGHT):
        raw.append(0)  # filter: none
        for x in range(GOOD_WIDTH):
            raw += gradient(x, y)
    return png(GOOD_WIDTH, GOOD_HEIGHT, 8, 6, zlib.compress(bytes(raw), 9))


# Adam7's passes: first column and row, column and row steps.
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
         (0, 1, 1, 2)]


def interlaced_png():
    raw = bytearray()
    for x0, y0, dx, dy in ADAM7:
        for y in range(y0, GOOD_HEIGHT, dy):
            raw.append(0)
            for x in range(x0, GOOD_WIDTH, dx):
                raw += gradient(x, y)
    return png(GOOD_WIDTH, GOOD_HEIGHT, 8, 6, zlib.compress(bytes(raw), 9), interlace=1)


def wide_png():
    return png(1500000, 1, 8, 0, compressed_zeros(zlib.compressobj(9), 1 + 1500000))


def bomb_png():
    return png(60000, 60000, 8, 0, compressed_zeros(zlib.compressobj(9), 64 << 20))


def row_bomb_png():
    return png(100000000, 1, 8, 0, compressed_zeros(zlib.compressobj(9), 1 << 20))


GOOD_XML = b"""<?xml version="1.0" encoding="UTF-8"?>
<catalog>
  <book id="1"><title>Sandboxing</title><author>A. Writer</author></book>
  <book id="2"><title>Parsers</title><author>B. Reader</author></book>
  <note>two books, seven elements below the root</note>
</catalog>
"""


def tar_member(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 1700000000
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def good_tar_gz():
    plain = io.BytesIO()
    with tarfile.open(fileobj=plain, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        tar_member(tar, "docs/readme.txt", b"hello\n")
        tar_member(tar, "docs/notes.txt", b"x" * 1000)
        tar_member(tar, "empty", b"")
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as gz:
        gz.write(plain.getvalue())
    return out.getvalue()


class Zeros(io.RawIOBase):
    def __init__(self, size):
        self.left = size

    def readable(self):
        return True

    def readinto(self, buffer):
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n


def with_xz_dictionary(xz, dict_byte):
    """Rewrites the LZMA2 dictionary size in the first block header (and its CRC32). A larger
    dictionary than the encoder's decodes the same data."""
    start = 12  # after the stream header
    header_size = (xz[start] + 1) * 4
    header = bytearray(xz[start:start + header_size])
    flags = header[1]
    assert flags & 0xC3 == 0, "expected one filter and no sizes in the block header"
    assert header[2:4] == b"\x21\x01", "expected the LZMA2 filter with one property byte"
    header[4] = dict_byte
    header[-4:] = struct.pack("<I", zlib.crc32(bytes(header[:-4])))
    return xz[:start] + bytes(header) + xz[start + header_size:]


class CompressingWriter(io.RawIOBase):
    """Compresses what tarfile writes as it comes, so that a tar of gigabytes is never in
    memory."""

    def __init__(self, compressor):
        self.compressor = compressor
        self.position = 0
        self.out = []

    def writable(self):
        return True

    def write(self, data):
        self.out.append(self.compressor.compress(data))
        self.position += len(data)
        return len(data)

    def tell(self):
        return self.position

    def finish(self):
        self.out.append(self.compressor.flush())
        return b"".join(self.out)


def tar_of_zeros(compressor, size):
    sink = CompressingWriter(compressor)
    with tarfile.open(fileobj=sink, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo("zeros")
        info.size = size
        info.mtime = 1700000000
        info.mode = 0o644
        tar.addfile(info, io.BufferedReader(Zeros(size), 1 << 20))
    return sink.finish()


def bomb_tar_xz():
    xz = tar_of_zeros(
        lzma.LZMACompressor(format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC32,
                            filters=[{"id": lzma.FILTER_LZMA2, "preset": 0, "dict_size": 1 << 20}]),
        768 << 20)
    # LZMA2's dictionary byte 35 is 3 << 28 bytes, 768 MiB: under libarchive's xz memory limit
    # (1 GiB), so that libarchive lets liblzma allocate it.
    return with_xz_dictionary(xz, 35)


def slow_tar_bz2():
    # bzip2 run-length encodes before anything else: 4 GiB of zeros take 3 KB (and 30 s to
    # compress).
    return tar_of_zeros(bz2.BZ2Compressor(9), 4 << 30)


write("good.png", good_png())
write("interlaced.png", interlaced_png())
write("wide.png", wide_png())
write("bomb.png", bomb_png())
write("row_bomb.png", row_bomb_png())
write("good.xml", GOOD_XML)
write("good.tar.gz", good_tar_gz())
write("bomb.tar.xz", bomb_tar_xz())
write("slow.tar.bz2", slow_tar_bz2())

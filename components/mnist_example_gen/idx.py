"""Reader for the IDX format of the MNIST files (LeCun et al.).

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number
of dimensions), one big-endian uint32 per dimension, then the data. MNIST uses
type 0x08 (unsigned byte) with 3 dimensions for images, 1 for labels.
Files may be gzip-compressed (`.gz`). Object-store paths work too (fs.py).
"""
import gzip
import struct
import zlib

import numpy as np

from foundation import fs
from foundation.errors import MnistDataError

_UBYTE = 0x08


def read_bytes(path: str) -> bytes:
    """The file's content, decompressed when the name ends in `.gz`."""
    if not fs.exists(path):
        raise MnistDataError(f"{path}: file not found")
    with fs.open_file(path, "rb") as f:
        raw = f.read()
    if not path.endswith(".gz"):
        return raw
    try:
        return gzip.decompress(raw)
    except gzip.BadGzipFile:
        raise MnistDataError(f"{path}: not a gzip file, although named .gz") from None
    except (EOFError, zlib.error) as e:
        raise MnistDataError(f"{path}: truncated or corrupt gzip data ({e})") from None


def parse_idx(data: bytes, name: str, ndim: int) -> np.ndarray:
    """Parses IDX bytes into a uint8 array with `ndim` dimensions."""
    if len(data) < 4:
        raise MnistDataError(f"{name}: {len(data)} bytes, too short for an IDX header")
    zero, dtype, got_ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != _UBYTE or got_ndim != ndim:
        raise MnistDataError(
            f"{name}: bad IDX magic number 0x{data[:4].hex()}, expected "
            f"0x0000{_UBYTE:02x}{ndim:02x} (unsigned bytes, {ndim} dimensions)"
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise MnistDataError(f"{name}: IDX header truncated")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    expected = int(np.prod(shape, dtype=np.int64))
    body = len(data) - header
    if body != expected:
        kind = "truncated" if body < expected else "has trailing bytes"
        raise MnistDataError(
            f"{name}: {kind}: header declares shape {shape} = {expected} bytes, "
            f"file holds {body}"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def read_idx(path: str, ndim: int) -> np.ndarray:
    return parse_idx(read_bytes(path), path, ndim)


def write_idx(path: str, array: np.ndarray) -> None:
    """Writes a uint8 array as IDX (gzip-compressed when the name ends in `.gz`).

    The inverse of `read_idx`; used to export subsets and to build test data.
    """
    array = np.ascontiguousarray(array, dtype=np.uint8)
    data = struct.pack(">HBB", 0, _UBYTE, array.ndim)
    data += struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()
    if path.endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    with fs.open_file(path, "wb") as f:
        f.write(data)

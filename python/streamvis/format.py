"""The log record format, byte for byte as the Rust logger writes it.

The specification is the doc comment of ``src/format/mod.rs``; in short:

* all integers and floats are little-endian;
* a file starts with a 16-byte header (``SVGPULOG``, u16 major, u16 minor,
  4 zero bytes); a Pub/Sub message is frames from offset 0;
* a frame is a 24-byte header (``SVRC``, u16 kind, u16 flags, u64 body
  length, u32 CRC32C of the body, u32 CRC32C of header bytes 0..20) and a
  body whose length is a multiple of 8;
* every body starts with u64 session id, u64 sequence number, i64 wall time
  in nanoseconds and the run name; a tensor's bytes start 8-aligned.

Encoding never copies a tensor: a :class:`Frame` keeps the tensor's bytes as
a view beside the few hundred bytes of header and fields around them.
"""

from __future__ import annotations

import enum
import struct
from typing import Iterator, NamedTuple, Optional, Union

import numpy as np

from ._crc32c import crc32c
from .errors import LogFormatError, UnsupportedVersionError

__all__ = [
    "FILE_MAGIC",
    "FORMAT_MAJOR",
    "FORMAT_MINOR",
    "FILE_HEADER_LEN",
    "FRAME_MARKER",
    "FRAME_HEADER_LEN",
    "ALIGN",
    "MAX_BODY_BYTES",
    "MESSAGE_MAX_BYTES",
    "RecordKind",
    "RecordMeta",
    "Frame",
    "BodyWriter",
    "file_header",
    "check_file_header",
    "encode_frame",
    "encode_fragments",
    "split_frames",
    "read_frames",
]

#: The first 8 bytes of every log file.
FILE_MAGIC = b"SVGPULOG"
#: Major format version written and accepted.
FORMAT_MAJOR = 1
#: Minor format version written.
FORMAT_MINOR = 1
FILE_HEADER_LEN = 16
#: The first 4 bytes of every frame.
FRAME_MARKER = b"SVRC"
FRAME_HEADER_LEN = 24
#: Alignment of frames and tensor payloads.
ALIGN = 8
#: The largest body a reader accepts (64 GiB).
MAX_BODY_BYTES = 1 << 36
#: The most bytes of frames one Pub/Sub message carries.
MESSAGE_MAX_BYTES = 9 << 20

_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_F32 = struct.Struct("<f")
_PREFIX = struct.Struct("<QQq")
_HEADER = struct.Struct("<4sHHQI")
_FILE_HEADER = struct.Struct("<8sHHI")
_FRAGMENT_FIELDS_LEN = 32  # u32 index, u32 count, u64 total, u64 offset, u64 length
_ZEROS = bytes(ALIGN)

Buffer = Union[bytes, bytearray, memoryview]


class RecordKind(enum.IntEnum):
    """What a frame holds: the u16 in its header."""

    LAYOUT = 1
    CLEAR = 2
    SCATTER = 3
    MULTI_LINES = 4
    TANDEM_LINES = 5
    STEP = 6
    FRAGMENT = 7
    #: Since format 1.1: names for a line plot's lines.
    LINE_NAMES = 8


class RecordMeta(NamedTuple):
    """Fields every record starts with."""

    session_id: int
    seq: int
    wall_time_ns: int
    run_name: str


def align_up(n: int, align: int = ALIGN) -> int:
    """Rounds ``n`` up to a multiple of ``align``."""
    return -(-n // align) * align


def file_header() -> bytes:
    """The 16-byte header of a new log file."""
    return _FILE_HEADER.pack(FILE_MAGIC, FORMAT_MAJOR, FORMAT_MINOR, 0)


def check_file_header(head: bytes, path: str = "log") -> None:
    """Checks the first (up to 16) bytes of an existing, non-empty log;
    raises :class:`LogFormatError` if it cannot be appended to."""
    n = min(len(head), len(FILE_MAGIC))
    if head[:n] != FILE_MAGIC[:n] or len(head) < FILE_HEADER_LEN:
        raise LogFormatError(f"cannot append to {path!r}: not a streamvis-gpu log (it starts with {bytes(head)!r})")
    _, major, minor, _ = _FILE_HEADER.unpack_from(head)
    if major != FORMAT_MAJOR:
        raise UnsupportedVersionError(path, major, minor, FORMAT_MAJOR)


class BodyWriter:
    """Appends fields to a record body, padding relative to the body's start.

    At most one tensor is written, as the body's last field; its bytes are
    kept as a view, not copied.
    """

    __slots__ = ("_buf", "_payload")

    def __init__(self, meta: RecordMeta) -> None:
        self._buf = bytearray(_PREFIX.pack(meta.session_id, meta.seq, meta.wall_time_ns))
        self._payload: Optional[memoryview] = None
        self.str(meta.run_name)

    @classmethod
    def from_prefix(cls, prefix: bytes) -> "BodyWriter":
        """A body starting with an already encoded common prefix."""
        body = cls.__new__(cls)
        body._buf = bytearray(prefix)
        body._payload = None
        return body

    def _check_open(self) -> None:
        if self._payload is not None:
            raise RuntimeError("a tensor must be a body's last field")

    def pad_to(self, align: int) -> None:
        self._check_open()
        self._buf += bytes(align_up(len(self._buf), align) - len(self._buf))

    def pad8(self) -> None:
        self.pad_to(8)

    def u32(self, value: int) -> None:
        self._check_open()
        self._buf += _U32.pack(value)

    def u64(self, value: int) -> None:
        self._check_open()
        self._buf += _U64.pack(value)

    def f32(self, value: float) -> None:
        """A float32, given as a float or a numpy float32 (stored exactly)."""
        self._check_open()
        self._buf += np.float32(value).astype("<f4").tobytes()

    def f64_bits(self, value: float) -> None:
        """A float64 as its 8 bytes (the Rust logger writes ``to_bits()``)."""
        self._check_open()
        self._buf += struct.pack("<d", value)

    def str(self, text: str) -> None:
        """u32 byte length, UTF-8 bytes, pad4."""
        data = text.encode("utf-8")
        self.u32(len(data))
        self._buf += data
        self.pad_to(4)

    def tensor(self, array: np.ndarray) -> None:
        """pad8, u32 dtype 1 (f32), u32 rank, u64 per dim, u64 byte length,
        then the bytes. ``array`` must be C-contiguous little-endian float32;
        its memory is referenced until the frame is written."""
        if array.dtype != np.dtype("<f4") or not array.flags.c_contiguous:
            raise ValueError("tensor must be C-contiguous little-endian float32")
        self.pad8()
        self.u32(1)
        self.u32(array.ndim)
        for d in array.shape:
            self.u64(d)
        self.u64(array.nbytes)
        self._payload = memoryview(array).cast("B") if array.nbytes else memoryview(b"")

    def raw_payload(self, data: memoryview) -> None:
        """Bytes as they are, as the body's last field (a fragment's piece)."""
        self._check_open()
        self._payload = data


class Frame(NamedTuple):
    """One encoded frame as three buffers: the 24-byte header with the body's
    fields, a tensor's bytes (possibly empty, possibly the caller's memory),
    and the zero padding that ends the body."""

    head: bytes
    payload: Buffer
    tail: bytes

    @property
    def nbytes(self) -> int:
        return len(self.head) + memoryview(self.payload).nbytes + len(self.tail)

    def buffers(self) -> list[Buffer]:
        """The non-empty buffers whose concatenation is the frame."""
        return [b for b in (self.head, self.payload, self.tail) if len(b)]

    def tobytes(self) -> bytes:
        return b"".join(self.buffers())


def encode_frame(kind: RecordKind, body: BodyWriter) -> Frame:
    """Finishes a body (pad8), checksums it and puts the frame header in
    front."""
    fields = body._buf
    payload = body._payload if body._payload is not None else b""
    payload_len = memoryview(payload).nbytes
    unpadded = len(fields) + payload_len
    tail = _ZEROS[: align_up(unpadded) - unpadded]
    body_len = unpadded + len(tail)

    crc = crc32c(fields)
    if payload_len:
        crc = crc32c(payload, crc)
    if tail:
        crc = crc32c(tail, crc)
    header = _HEADER.pack(FRAME_MARKER, int(kind), 0, body_len, crc)
    header += _U32.pack(crc32c(header))
    return Frame(header + fields, payload, tail)


def _frame_length(data: memoryview, offset: int) -> int:
    (body_len,) = _U64.unpack_from(data, offset + 8)
    return FRAME_HEADER_LEN + body_len


def split_frames(data: Buffer) -> list[memoryview]:
    """Cuts a buffer of whole frames (as encoded here) into one view per
    frame, trusting the length fields."""
    view = memoryview(data).cast("B") if memoryview(data).nbytes else memoryview(b"")
    frames = []
    offset = 0
    while offset < len(view):
        end = offset + _frame_length(view, offset)
        frames.append(view[offset:end])
        offset = end
    return frames


def _body_prefix_len(body: memoryview) -> int:
    """Length of a body's common prefix (session, seq, wall time, run name)."""
    (name_len,) = _U32.unpack_from(body, 24)
    return align_up(28 + name_len, 4)


def encode_fragments(frame: Buffer, max_bytes: int = MESSAGE_MAX_BYTES) -> list[bytes]:
    """Splits a frame too large for one message into Fragment frames of at
    most ``max_bytes`` each, carrying the frame's session, sequence number,
    wall time and run name."""
    frame = memoryview(frame).cast("B")
    total = len(frame)
    prefix = bytes(frame[FRAME_HEADER_LEN : FRAME_HEADER_LEN + _body_prefix_len(frame[FRAME_HEADER_LEN:])])
    overhead = FRAME_HEADER_LEN + align_up(len(prefix)) + _FRAGMENT_FIELDS_LEN
    piece_max = (max_bytes - overhead) // ALIGN * ALIGN
    if piece_max <= 0:
        raise ValueError(f"max_bytes {max_bytes} leaves no room for a fragment's bytes")
    count = -(-total // piece_max)
    fragments = []
    for index in range(count):
        offset = index * piece_max
        piece = frame[offset : offset + piece_max]
        body = BodyWriter.from_prefix(prefix)
        body.pad8()
        for value in (index, count):
            body.u32(value)
        for value in (total, offset, len(piece)):
            body.u64(value)
        body.raw_payload(piece)
        fragments.append(encode_frame(RecordKind.FRAGMENT, body).tobytes())
    return fragments


class RawFrame(NamedTuple):
    """A frame found by :func:`read_frames`."""

    offset: int
    kind: int
    body: memoryview


def read_frames(data: Buffer, *, file: bool = True) -> Iterator[RawFrame]:
    """Yields the frames of a complete log (``file=True``: after its file
    header) or message, checking markers, lengths and checksums; raises
    :class:`LogFormatError` at the first damaged or incomplete frame. Meant
    for tests and tools; the viewer's reader is more forgiving."""
    view = memoryview(data).cast("B") if memoryview(data).nbytes else memoryview(b"")
    offset = 0
    if file:
        check_file_header(bytes(view[:FILE_HEADER_LEN]))
        offset = FILE_HEADER_LEN
    while offset < len(view):
        if offset + FRAME_HEADER_LEN > len(view):
            raise LogFormatError(f"torn frame header at offset {offset}")
        marker, kind, _flags, body_len, body_crc = _HEADER.unpack_from(view, offset)
        (header_crc,) = _U32.unpack_from(view, offset + 20)
        if marker != FRAME_MARKER:
            raise LogFormatError(f"bad frame marker {marker!r} at offset {offset}")
        if crc32c(view[offset : offset + 20]) != header_crc:
            raise LogFormatError(f"frame header checksum mismatch at offset {offset}")
        if body_len % ALIGN or body_len > MAX_BODY_BYTES:
            raise LogFormatError(f"impossible body length {body_len} at offset {offset}")
        start = offset + FRAME_HEADER_LEN
        body = view[start : start + body_len]
        if len(body) != body_len:
            raise LogFormatError(f"frame at offset {offset} is cut short")
        if crc32c(body) != body_crc:
            raise LogFormatError(f"body checksum mismatch at offset {offset}")
        yield RawFrame(offset, kind, body)
        offset = start + body_len

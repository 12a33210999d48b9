"""Encoding details: what data the logger accepts, the records it makes,
CRC32C, and Pub/Sub message packing."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from _helpers import frames, masked_body
from streamvis import DataLogger
from streamvis._crc32c import ACCELERATED, crc32c, crc32c_fallback
from streamvis.format import (
    FRAME_HEADER_LEN,
    BodyWriter,
    RecordKind,
    RecordMeta,
    encode_fragments,
    encode_frame,
    read_frames,
)
from streamvis.sinks import pack_messages


def _scatter_body(tmp_path: Path, data) -> bytes:
    log = tmp_path / f"s{len(list(tmp_path.iterdir()))}.log"
    with DataLogger("inputs") as logger:
        logger.init_write_log(log)
        logger.set_layout({"p": (0, 0, 1, 1)})
        logger.scatter("p", data, spatial_dim=1, append=False)
    return masked_body(frames(log)[1][1])


def test_every_input_form_gives_the_same_record(tmp_path: Path):
    reference = np.arange(12, dtype=np.float32).reshape(6, 2) / 3
    expected = _scatter_body(tmp_path, reference)
    forms = {
        "list": reference.tolist(),
        "float64": reference.astype(np.float64),
        "big-endian": reference.astype(">f4"),
        "fortran order": np.asfortranarray(reference),
        "strided view": np.repeat(reference, 2, axis=0)[::2],
        "tuple of tuples": tuple(tuple(row) for row in reference.tolist()),
    }
    for name, data in forms.items():
        assert _scatter_body(tmp_path, data) == expected, name


def test_the_tensor_bytes_are_the_callers(tmp_path: Path):
    data = np.random.default_rng(0).standard_normal((5, 2)).astype(np.float32)
    body = _scatter_body(tmp_path, data)
    assert body.endswith(data.tobytes() + bytes(-data.nbytes % 8))


def test_a_large_tensor_is_written_whole_and_in_order(tmp_path: Path):
    log = tmp_path / "big.log"
    big = np.random.default_rng(1).standard_normal((400_000, 2)).astype(np.float32)
    with DataLogger("big", flush_interval=3600) as logger:
        logger.init_write_log(log)
        logger.set_layout({"p": (0, 0, 1, 1)})
        logger.scatter("p", big, 1, False)
        # Written at once: later changes to the caller's array do not matter.
        big[:] = 0
        logger.end_step()
    records = frames(log)
    assert [head[4] for head, _ in records] == [RecordKind.LAYOUT, RecordKind.SCATTER, RecordKind.STEP]
    assert not np.all(np.frombuffer(records[1][1][-big.nbytes :], dtype="<f4") == 0)


def test_step_records(tmp_path: Path):
    log = tmp_path / "steps.log"
    with DataLogger("run") as logger:
        logger.init_write_log(log)
        assert [logger.end_step() for _ in range(3)] == [0, 1, 2]
    bodies = [body for _, body in frames(log)]
    # prefix (24 + "run" as str: 4 + 3 + pad 1 = 32), no pad needed, u64 step
    assert [len(b) for b in bodies] == [40, 40, 40]
    assert [struct.unpack_from("<Q", b, 32)[0] for b in bodies] == [0, 1, 2]
    assert [struct.unpack_from("<Q", b, 8)[0] for b in bodies] == [0, 1, 2]


def test_tandem_x_is_a_float64(tmp_path: Path):
    log = tmp_path / "tandem.log"
    with DataLogger("r") as logger:
        logger.init_write_log(log)
        logger.set_layout({"loss": (0, 0, 1, 1)})
        logger.tandem_lines("loss", np.int64(3), np.array([0.5, 0.25]))
    body = frames(log)[1][1]
    # prefix 24 + str "r" (8) = 32; str "loss" (8) = 40; u32 0 = 44; pad8 = 48
    assert struct.unpack_from("<d", body, 48)[0] == 3.0
    assert body[56:60] == struct.pack("<I", 1), "dtype f32"
    assert body[60:64] == struct.pack("<I", 1), "rank 1"
    assert np.frombuffer(body[80:88], dtype="<f4").tolist() == [0.5, 0.25]


@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 100, 4095, 4096, 4097, 65_537, 1_000_003])
def test_crc32c_fallback_matches(n: int):
    data = np.random.default_rng(n).integers(0, 256, n, dtype=np.uint8).tobytes()
    expected = crc32c(data)
    assert crc32c_fallback(data) == expected
    assert crc32c_fallback(data[n // 3 :], crc32c_fallback(data[: n // 3])) == expected


def test_crc32c_check_value():
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c_fallback(b"123456789") == 0xE3069283
    assert crc32c_fallback(memoryview(np.arange(3, dtype="<f4"))) == crc32c(np.arange(3, dtype="<f4").tobytes())


def test_crc32c_is_accelerated_here():
    """The crc32c package is a dependency; the fallback is for elsewhere."""
    assert ACCELERATED


def _frame(seq: int, payload_floats: int) -> bytes:
    body = BodyWriter(RecordMeta(0xABC, seq, 123, "frag"))
    body.str("plot")
    body.pad8()
    body.tensor(np.arange(payload_floats, dtype="<f4"))
    return encode_frame(RecordKind.SCATTER, body).tobytes()


def _join_fragments(messages: list[bytes]) -> list[bytes]:
    """Frames carried by messages, with fragments joined back."""
    out, pieces = [], []
    for message in messages:
        for frame in read_frames(message, file=False):
            if frame.kind != RecordKind.FRAGMENT:
                out.append(bytes(message[frame.offset : frame.offset + FRAME_HEADER_LEN + len(frame.body)]))
                continue
            body = frame.body
            name_len = struct.unpack_from("<I", body, 24)[0]
            at = -(-(28 + name_len) // 8) * 8
            index, count, total, offset, length = struct.unpack_from("<IIQQQ", body, at)
            piece = bytes(body[at + 32 : at + 32 + length])
            assert index == len(pieces) and offset == sum(len(p) for p in pieces)
            pieces.append(piece)
            if index + 1 == count:
                joined = b"".join(pieces)
                assert len(joined) == total
                out.append(joined)
                pieces = []
    return out


def test_messages_hold_whole_frames_and_fragments():
    frames_in = [_frame(0, 10), _frame(1, 300), _frame(2, 5000), _frame(3, 20), _frame(4, 20)]
    limit = 4096
    messages = pack_messages(b"".join(frames_in), max_bytes=limit)
    assert all(len(m) <= limit for m in messages)
    assert _join_fragments(messages) == frames_in
    # The 20 KB frame went as fragments, one per message, under its own seq.
    carried = [list(read_frames(m, file=False)) for m in messages]
    fragments = [fs[0] for fs in carried if fs[0].kind == RecordKind.FRAGMENT]
    # Each fragment: 24-byte header, 32-byte prefix, 32 bytes of fields, the piece.
    assert len(fragments) == -(-len(frames_in[2]) // (limit - 88))
    assert all(len(fs) == 1 for fs in carried if fs[0].kind == RecordKind.FRAGMENT)
    assert {struct.unpack_from("<Q", f.body, 8)[0] for f in fragments} == {2}


def test_fragments_fill_messages():
    frame = _frame(9, 100_000)
    fragments = encode_fragments(frame, max_bytes=65_536)
    assert all(len(f) <= 65_536 for f in fragments)
    assert len(fragments[0]) >= 65_536 - 8
    assert _join_fragments(fragments) == [frame]


class _FakeTorchTensor:
    """Just enough of a torch tensor's interface: on a device, in a graph,
    in another dtype."""

    def __init__(self, values: np.ndarray, dtype: str = "torch.float64", device: str = "cuda:0") -> None:
        self.values, self.dtype, self.device = values, dtype, device
        self.calls: list[str] = []

    def detach(self):
        self.calls.append("detach")
        return self

    def float(self):
        self.calls.append("float")
        return _FakeTorchTensor(self.values.astype(np.float32), "torch.float32", self.device)

    def cpu(self):
        self.calls.append("cpu")
        return _FakeTorchTensor(self.values, self.dtype, "cpu")

    def numpy(self):
        assert self.device == "cpu", "numpy() of a device tensor"
        return self.values


def test_torch_like_tensors_are_detached_converted_and_moved(tmp_path: Path):
    values = np.arange(8, dtype=np.float64).reshape(4, 2)
    fake = _FakeTorchTensor(values)
    assert _scatter_body(tmp_path, fake) == _scatter_body(tmp_path, values.astype(np.float32))
    assert fake.calls == ["detach", "float"], "converted to float32 before leaving the device"

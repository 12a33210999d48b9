"""Publishing to Google Pub/Sub, against the real emulator: messages hold
whole frames (large ones as fragments), in order under the session's
ordering key, and carry exactly the records of the file log written at the
same time."""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from streamvis import ColorSpec, DataLogger, PubSubError
from streamvis.format import FRAME_HEADER_LEN, MESSAGE_MAX_BYTES, RecordKind, read_frames

pytest.importorskip(
    "google.cloud.pubsub_v1", reason="google-cloud-pubsub is not installed (pip install 'streamvis[pubsub]')"
)

EMULATOR = Path(
    os.environ.get(
        "PUBSUB_EMULATOR_BIN", "/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator"
    )
)
PROJECT = "streamvis-test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    """``host:port`` of a Pub/Sub emulator started for these tests."""
    if not EMULATOR.is_file() or shutil.which("java") is None:
        pytest.skip(f"the Pub/Sub emulator ({EMULATOR}) or java is not installed")
    port = _free_port()
    output = tmp_path_factory.mktemp("emulator") / "emulator.log"
    with open(output, "wb") as out:
        proc = subprocess.Popen(
            [str(EMULATOR), "--host=127.0.0.1", f"--port={port}"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "JAVA_OPTS": "-Xmx1g"},
            start_new_session=True,  # its own process group: the script starts java
        )
    try:
        deadline = time.monotonic() + 90
        while b"Server started" not in output.read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the emulator did not start:\n{output.read_text(errors='replace')}")
            time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _rest(host: str, method: str, path: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"http://{host}/v1/{path}",
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read() or b"{}")


def _topic_and_subscription(host: str, name: str) -> str:
    """Creates topic ``name`` and an ordered subscription to it; returns the
    subscription's path."""
    topic = f"projects/{PROJECT}/topics/{name}"
    subscription = f"projects/{PROJECT}/subscriptions/{name}-sub"
    _rest(host, "PUT", topic)
    _rest(host, "PUT", subscription, {"topic": topic, "enableMessageOrdering": True})
    return subscription


def _pull_all(host: str, subscription: str, want_records: int, timeout: float = 60) -> list[dict]:
    """Pulls and acknowledges messages until they hold ``want_records``
    records (counting a fragmented record once)."""
    messages: list[dict] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reply = _rest(host, "POST", f"{subscription}:pull", {"maxMessages": 100})
        received = reply.get("receivedMessages", [])
        if received:
            _rest(host, "POST", f"{subscription}:acknowledge", {"ackIds": [m["ackId"] for m in received]})
            messages += [m["message"] for m in received]
        if len(_records(messages)) >= want_records:
            return messages
    pytest.fail(f"pulled {len(messages)} messages holding {len(_records(messages))} of {want_records} records")


def _records(messages: list[dict]) -> dict[tuple[int, int], bytes]:
    """The frames carried by messages, fragments joined, keyed by (session,
    sequence)."""
    records: dict[tuple[int, int], bytes] = {}
    pieces: dict[tuple[int, int], dict[int, bytes]] = {}
    for message in messages:
        data = base64.b64decode(message["data"])
        for frame in read_frames(data, file=False):
            body = frame.body
            key = struct.unpack_from("<QQ", body, 0)
            if frame.kind != RecordKind.FRAGMENT:
                records[key] = data[frame.offset : frame.offset + FRAME_HEADER_LEN + len(body)]
                continue
            name_len = struct.unpack_from("<I", body, 24)[0]
            at = -(-(28 + name_len) // 8) * 8
            index, count, total, offset, length = struct.unpack_from("<IIQQQ", body, at)
            got = pieces.setdefault(key, {})
            got[offset] = bytes(body[at + 32 : at + 32 + length])
            if len(got) == count:
                joined = b"".join(got[o] for o in sorted(got))
                assert len(joined) == total
                records[key] = joined
    return records


def test_published_messages_carry_the_file_logs_records(emulator: str, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", emulator)
    subscription = _topic_and_subscription(emulator, "records")
    log = tmp_path / "pubsub.log"
    rng = np.random.default_rng(3)
    with DataLogger("pubsub-run") as logger:
        logger.init_pubsub(PROJECT, "records")
        logger.init_write_log(log)
        logger.clear()
        logger.set_layout({"loss": (0, 0, 1, 1), "cloud": (0, 1, 1, 1)})
        for step in range(3):
            logger.tandem_lines("loss", step, [1.0 / (step + 1), 0.5], palette="Category10_3")
            logger.scatter("cloud", rng.standard_normal((100, 2)), 1, append=True, color=ColorSpec("Viridis256", 0))
            logger.end_step()
        # Over MESSAGE_MAX_BYTES: travels as fragments.
        logger.scatter("cloud", rng.standard_normal((1_300_000, 2)), 1, append=False)
        logger.end_step()
        logger.flush()
        session = logger.session_id

    file_frames = {
        struct.unpack_from("<QQ", f.body, 0): bytes(log.read_bytes()[f.offset : f.offset + 24 + len(f.body)])
        for f in read_frames(log.read_bytes())
    }
    messages = _pull_all(emulator, subscription, len(file_frames))
    assert all(m.get("orderingKey") == f"{session:016x}" for m in messages)
    assert all(len(base64.b64decode(m["data"])) <= MESSAGE_MAX_BYTES for m in messages)
    assert len(messages) >= 2, "the large record went in its own messages"
    assert _records(messages) == file_frames
    # Ordered delivery: the frames come in sequence order.
    seqs = [
        struct.unpack_from("<Q", f.body, 8)[0]
        for m in messages
        for f in read_frames(base64.b64decode(m["data"]), file=False)
    ]
    assert seqs == sorted(seqs)


def test_a_missing_topic_says_start_the_viewer(emulator: str, monkeypatch):
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", emulator)
    logger = DataLogger("run")
    with pytest.raises(PubSubError, match="does not exist: start the viewer first"):
        logger.init_pubsub(PROJECT, "no-such-topic")


def test_the_test_app_publishes(emulator: str, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", emulator)
    subscription = _topic_and_subscription(emulator, "testapp")
    log = tmp_path / "app.log"
    from streamvis.test_app import main

    assert main(["publish", "app", PROJECT, "testapp", "--log-file", str(log), "--steps", "2", "--interval-ms", "0"]) == 0
    file_records = list(read_frames(log.read_bytes()))
    assert len(file_records) == 2 + 2 * 5  # clear, layout, then 4 calls and a step per step
    assert len(_records(_pull_all(emulator, subscription, len(file_records)))) == len(file_records)


def test_a_forked_child_publishes_as_a_new_session(emulator: str, monkeypatch):
    # The viewer drops a session's repeated sequence numbers as duplicates:
    # a child publishing under the parent's session would lose its records.
    from test_fork import _fork, _wait

    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", emulator)
    subscription = _topic_and_subscription(emulator, "forked")
    logger = DataLogger("run", flush_interval=3600)
    logger.init_pubsub(PROJECT, "forked")
    logger.set_layout({"p": (0, 0, 1, 1)})
    logger.tandem_lines("p", 0, [1.0])  # pending at the fork
    parent_session = logger.session_id

    def child() -> int:
        for step in range(3):
            logger.tandem_lines("p", 100 + step, [-1.0])
        logger.close()
        return 0

    assert _wait(_fork(child), timeout_secs=60) == 0
    logger.tandem_lines("p", 1, [2.0])
    logger.close()

    messages = _pull_all(emulator, subscription, 6)
    keys = sorted(_records(messages))
    child_session = next(session for session, _ in keys if session != parent_session)
    assert keys == sorted([(parent_session, seq) for seq in range(3)] + [(child_session, seq) for seq in range(3)])
    for m in messages:
        frames = read_frames(base64.b64decode(m["data"]), file=False)
        keys_in_message = {f"{struct.unpack_from('<Q', f.body, 0)[0]:016x}" for f in frames}
        assert keys_in_message == {m.get("orderingKey")}, "each session publishes under its own ordering key"

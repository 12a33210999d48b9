"""Publishing to Google Pub/Sub, against the real emulator: messages hold
whole frames (large ones as fragments), carry no ordering key (the service
limits each key to 1 MB/s), and carry exactly the records of the file log
written at the same time; a logger faster than Pub/Sub blocks rather than
queueing without bound."""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from streamvis import ColorSpec, DataLogger, PubSubError
from streamvis.format import FRAME_HEADER_LEN, MESSAGE_MAX_BYTES, RecordKind, read_frames
from streamvis.sinks import REQUEST_MAX_BYTES, PubSubSink

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
    """Creates topic ``name`` and a subscription to it (without message
    ordering, as the viewer's); returns the subscription's path."""
    topic = f"projects/{PROJECT}/topics/{name}"
    subscription = f"projects/{PROJECT}/subscriptions/{name}-sub"
    _rest(host, "PUT", topic)
    _rest(host, "PUT", subscription, {"topic": topic})
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
    assert not any(m.get("orderingKey") for m in messages), "no message carries an ordering key"
    assert all(len(base64.b64decode(m["data"])) <= MESSAGE_MAX_BYTES for m in messages)
    assert len(messages) >= 3, "the large record went as fragments, in messages of their own"
    assert _records(messages) == file_frames
    assert {session for session, _ in file_frames} == {session}


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
        sessions_in_message = {struct.unpack_from("<Q", f.body, 0)[0] for f in frames}
        assert len(sessions_in_message) == 1, "each process publishes its own messages"
        assert not m.get("orderingKey")


def test_a_logger_faster_than_pubsub_blocks_with_bounded_memory(emulator: str, monkeypatch):
    """Publish requests made slow (a slow link): writes block once
    ``max_queued_bytes`` wait, so no more than that (and the message being
    handed over) is ever held; everything is published in the end."""
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", emulator)
    subscription = _topic_and_subscription(emulator, "backpressure")
    bound = 4 << 20
    sink = PubSubSink(PROJECT, "backpressure", max_queued_bytes=bound)
    assert sink.max_queued_bytes == MESSAGE_MAX_BYTES, "never less than one whole message"
    slow_requests = []
    real_gapic_publish = sink._publisher._gapic_publish

    def slow_gapic_publish(*args, **kwargs):
        slow_requests.append(1)
        time.sleep(0.1)
        return real_gapic_publish(*args, **kwargs)

    sink._publisher._gapic_publish = slow_gapic_publish
    held = 0
    peak = 0
    largest = 0
    lock = threading.Lock()
    real_publish = sink._publisher.publish

    def counting_publish(topic, data, **kwargs):
        nonlocal held, peak, largest
        with lock:
            held += len(data)
            peak = max(peak, held)
            largest = max(largest, len(data))

        def done(_future, n=len(data)):
            nonlocal held
            with lock:
                held -= n

        try:
            future = real_publish(topic, data, **kwargs)
        except BaseException:
            done(None)
            raise
        future.add_done_callback(done)
        return future

    sink._publisher.publish = counting_publish
    # 64 records of 1 MiB, written as fast as Python can: 64 MiB in all.
    logger = DataLogger("fast", flush_interval=3600)
    logger.add_sink(sink)
    logger.set_layout({"cloud": (0, 0, 1, 1)})
    cloud = np.zeros(((1 << 20) // 8, 2), np.float32)
    for _ in range(64):
        logger.scatter("cloud", cloud, 1, append=False)
    logger.close()
    # Held counts a message from the moment it is offered (the one being
    # handed over besides those waiting) until its completion is seen,
    # which may come just after the library has let the next one in.
    assert peak <= sink.max_queued_bytes + 2 * largest < 64 << 20, f"{peak} bytes held at once"
    assert len(slow_requests) > 1
    messages = _pull_all(emulator, subscription, 65)
    assert all(len(base64.b64decode(m["data"])) <= REQUEST_MAX_BYTES for m in messages)

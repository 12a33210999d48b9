"""Where frames go: a log file, a Google Pub/Sub topic.

A sink receives whole frames as a list of buffers (their concatenation is
8-aligned), always in call order and from one thread at a time.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from typing import Iterator, Protocol, Sequence

from .errors import PubSubError, SinkError
from .format import (
    ALIGN,
    FILE_HEADER_LEN,
    MESSAGE_MAX_BYTES,
    Buffer,
    check_file_header,
    encode_fragments,
    file_header,
    split_frames,
)

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Unix: no advisory locks
    fcntl = None

__all__ = ["Sink", "FileSink", "PubSubSink", "pack_messages"]

log = logging.getLogger("streamvis")

#: The most bytes in one publish request: the service takes 10 MB; this
#: leaves room for the request's own framing (as the Rust logger).
REQUEST_MAX_BYTES = 9_500_000
#: The most messages in one publish request (the service's limit).
REQUEST_MAX_MESSAGES = 1000
#: Bytes of messages waiting to be published before a write blocks.
DEFAULT_MAX_QUEUED_BYTES = 256 << 20
#: How often the rates published are logged.
THROUGHPUT_LOG_INTERVAL_SECS = 10.0

# The most buffers one writev call takes (Linux's IOV_MAX).
_IOV_MAX = 1024


class Sink(Protocol):
    """A destination for frames."""

    def write(self, buffers: Sequence[Buffer]) -> None:
        """Writes the frames whose concatenation is ``buffers``."""

    def sync(self) -> None:
        """Waits until everything written so far has been delivered."""

    def close(self) -> None:
        """Delivers what is outstanding and releases the destination."""


def _write_all(fd: int, buffers: Sequence[Buffer]) -> None:
    """Writes every byte of ``buffers`` to ``fd``, in order."""
    views = [memoryview(b).cast("B") for b in buffers if memoryview(b).nbytes]
    while views:
        written = os.writev(fd, views[:_IOV_MAX])
        while written:
            if written >= len(views[0]):
                written -= len(views.pop(0))
            else:
                views[0] = views[0][written:]
                written = 0


class FileSink:
    """Appends frames to a log file.

    Every batch is written while holding an exclusive ``flock`` on a file
    opened with ``O_APPEND``, the way the Rust logger does, so that several
    processes (Python or Rust) can log to one file without interleaving
    bytes. A file whose length is not a multiple of 8 (a writer crashed
    mid-record) is first padded with zeros so that new frames stay aligned;
    readers skip the torn record.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = os.fspath(path)
        try:
            self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as err:
            raise SinkError(f"opening {self.path!r}: {err}") from err
        try:
            with self._locked() as length:
                if length == 0:
                    _write_all(self._fd, [file_header()])
                else:
                    check_file_header(os.pread(self._fd, FILE_HEADER_LEN, 0), self.path)
        except OSError as err:
            os.close(self._fd)
            raise SinkError(f"writing the header of {self.path!r}: {err}") from err
        except BaseException:
            os.close(self._fd)
            raise

    @contextlib.contextmanager
    def _locked(self) -> Iterator[int]:
        """Holds the file's exclusive lock; yields its current length."""
        if fcntl is not None:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            yield os.fstat(self._fd).st_size
        finally:
            if fcntl is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def write(self, buffers: Sequence[Buffer]) -> None:
        try:
            with self._locked() as length:
                if length == 0:
                    # Emptied since it was opened: a log again, header first.
                    log.warning("%r was emptied; starting it again with a log header", self.path)
                    _write_all(self._fd, [file_header()])
                misalignment = length % ALIGN
                if misalignment:
                    log.warning(
                        "%r ends with %d bytes, not a multiple of 8: a record was cut short; "
                        "padding so new records stay aligned",
                        self.path,
                        length,
                    )
                    _write_all(self._fd, [bytes(ALIGN - misalignment)])
                _write_all(self._fd, buffers)
        except OSError as err:
            raise SinkError(f"appending to {self.path!r}: {err}") from err

    def sync(self) -> None:
        """Nothing to wait for: writes reach the file before :meth:`write`
        returns."""

    def after_fork_in_child(self) -> None:
        """Gives a forked child a descriptor of its own. ``flock`` locks
        belong to the open file description, which ``fork`` shares: through
        the inherited descriptor the child would take the lock while the
        parent holds it (and release the parent's), and a batch written in
        several ``writev`` calls could interleave with the parent's."""
        if self._fd < 0:
            return
        inherited, self._fd = self._fd, -1
        try:
            # The same file even if it was renamed since (Linux); else by path.
            proc_path = f"/proc/self/fd/{inherited}"
            path = proc_path if os.path.exists(proc_path) else self.path
            self._fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CLOEXEC)
        except OSError as err:
            raise SinkError(f"reopening {self.path!r} in a forked process: {err}") from err
        finally:
            os.close(inherited)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def pack_messages(data: Buffer, max_bytes: int = MESSAGE_MAX_BYTES) -> list[bytes]:
    """Groups whole frames into messages of at most ``max_bytes``; a frame
    larger than that becomes Fragment frames, one per message."""
    messages: list[bytes] = []
    batch: list[memoryview] = []
    batch_len = 0
    for frame in split_frames(data):
        if batch and batch_len + len(frame) > max_bytes:
            messages.append(b"".join(batch))
            batch, batch_len = [], 0
        if len(frame) > max_bytes:
            messages.extend(encode_fragments(frame, max_bytes))
            continue
        batch.append(frame)
        batch_len += len(frame)
    if batch:
        messages.append(b"".join(batch))
    return messages


class PubSubSink:
    """Publishes frames to a Google Pub/Sub topic.

    Messages carry whole frames, at most :data:`~streamvis.format.MESSAGE_MAX_BYTES`
    each (a larger frame goes as fragments). They carry **no ordering key**:
    the service limits publishing to 1 MB/s per ordering key, so one key per
    session would cap the whole run there. Without a key the client library
    sends several publish requests at once (up to :data:`REQUEST_MAX_MESSAGES`
    messages and :data:`REQUEST_MAX_BYTES` bytes each) and messages may
    arrive in any order; the viewer puts each session's records back in
    sequence order. The topic must exist: the viewer creates it.
    ``PUBSUB_EMULATOR_HOST`` is honoured by the client library.

    Back-pressure: at most ``max_queued_bytes`` of messages wait to be
    published; past it, :meth:`write` (so the logging call, or its flush)
    **blocks** until the service has taken enough. Nothing is dropped for
    being slow. The rates published are logged (``streamvis`` logger, info
    level) every :data:`THROUGHPUT_LOG_INTERVAL_SECS` seconds.
    """

    def __init__(
        self,
        project: str,
        topic: str,
        *,
        timeout: float = 60.0,
        max_queued_bytes: int = DEFAULT_MAX_QUEUED_BYTES,
    ) -> None:
        try:
            from google.api_core import exceptions as gexc
            from google.auth import exceptions as auth_exc
            from google.cloud import pubsub_v1
        except ImportError as err:
            raise ImportError(
                "init_pubsub needs the google-cloud-pubsub package: pip install 'streamvis[pubsub]'"
            ) from err
        self._gexc = gexc
        self._auth_exc = auth_exc
        self._pubsub_v1 = pubsub_v1
        self._timeout = timeout
        # At least one whole message, or nothing could ever be published.
        self.max_queued_bytes = max(max_queued_bytes, MESSAGE_MAX_BYTES)
        self._publisher = self._new_publisher()
        self.topic_path = self._publisher.topic_path(project, topic)
        self._futures: list = []
        self._meter = _ThroughputMeter(f"published to {self.topic_path}")
        try:
            self._publisher.get_topic(request={"topic": self.topic_path}, timeout=timeout)
        except gexc.NotFound as err:
            self._publisher.stop()
            raise PubSubError(
                f"Pub/Sub topic {self.topic_path} does not exist: start the viewer first (it creates the topic)"
            ) from err
        except gexc.PermissionDenied:
            # A publisher-only account may not read topics; publishing will tell.
            pass
        except gexc.GoogleAPICallError as err:
            self._publisher.stop()
            raise PubSubError(f"cannot reach Pub/Sub topic {self.topic_path}: {err}") from err

    def _new_publisher(self):
        pubsub_v1 = self._pubsub_v1
        types = pubsub_v1.types
        try:
            return pubsub_v1.PublisherClient(
                batch_settings=types.BatchSettings(
                    max_bytes=REQUEST_MAX_BYTES, max_latency=0.01, max_messages=REQUEST_MAX_MESSAGES
                ),
                publisher_options=types.PublisherOptions(
                    enable_message_ordering=False,
                    flow_control=types.PublishFlowControl(
                        message_limit=1_000_000,
                        byte_limit=self.max_queued_bytes,
                        limit_exceeded_behavior=types.LimitExceededBehavior.BLOCK,
                    ),
                ),
            )
        except self._auth_exc.DefaultCredentialsError as err:
            raise PubSubError(
                f"no Google Cloud credentials for Pub/Sub ({err}); set up application default credentials, "
                "or set PUBSUB_EMULATOR_HOST to use the emulator"
            ) from err

    def write(self, buffers: Sequence[Buffer]) -> None:
        data = buffers[0] if len(buffers) == 1 else b"".join(buffers)
        for message in pack_messages(data):
            try:
                # Blocks while max_queued_bytes wait to be published.
                future = self._publisher.publish(self.topic_path, message)
            except Exception as err:
                raise PubSubError(f"publishing to {self.topic_path}: {err}") from err
            self._futures.append((future, len(message)))
        self._reap(wait=False)

    def _reap(self, wait: bool) -> None:
        """Forgets delivered messages; raises the first failure."""
        pending = []
        first_error = None
        for future, len_bytes in self._futures:
            if not wait and not future.done():
                pending.append((future, len_bytes))
                continue
            try:
                future.result(timeout=self._timeout)
                self._meter.add(1, len_bytes)
            except Exception as err:
                first_error = first_error or err
        self._futures = pending
        self._meter.report_if_due()
        if first_error is not None:
            if isinstance(first_error, self._gexc.NotFound):
                raise PubSubError(
                    f"Pub/Sub topic {self.topic_path} does not exist (any more): start the viewer first"
                ) from first_error
            raise PubSubError(f"publishing to {self.topic_path}: {first_error}") from first_error

    def sync(self) -> None:
        self._reap(wait=True)

    def after_fork_in_child(self) -> None:
        """Gives a forked child a publisher of its own. The parent's client
        (its batching threads did not survive the fork) and its unconfirmed
        messages are the parent's."""
        self._futures = []
        self._publisher = self._new_publisher()

    def close(self) -> None:
        try:
            self.sync()
        finally:
            self._publisher.stop()


class _ThroughputMeter:
    """Counts messages and bytes and logs their rates now and then."""

    def __init__(self, what: str, interval_secs: float = THROUGHPUT_LOG_INTERVAL_SECS) -> None:
        self.what = what
        self.interval_secs = interval_secs
        self.since = time.monotonic()
        self.messages = 0
        self.bytes = 0

    def add(self, messages: int, len_bytes: int) -> None:
        self.messages += messages
        self.bytes += len_bytes

    def report_if_due(self) -> None:
        now = time.monotonic()
        elapsed = now - self.since
        if elapsed < self.interval_secs:
            return
        if self.messages:
            log.info(
                "%s: %.1f MB/s, %.0f messages/s over the last %.0f s",
                self.what,
                self.bytes / elapsed / 1e6,
                self.messages / elapsed,
                elapsed,
            )
        self.since, self.messages, self.bytes = now, 0, 0

"""`DataLogger`: what a training app calls to log its plots.

Each call is checked, then encoded once into frames of the streamvis-gpu log
format. Small records collect in a pending buffer that goes to every sink on
:meth:`DataLogger.flush`, every ``flush_interval`` seconds from a background
thread, as soon as it passes ``flush_threshold_bytes``, and when the logger
is closed, collected or the interpreter exits. A record holding a large
tensor is written at once, straight from the tensor's memory. A refused call
raises :class:`~streamvis.errors.CallError` and writes nothing.

After ``os.fork()`` the child's loggers start over as new sessions: the
records the parent had pending stay the parent's to write (the child drops
its copy, which would otherwise reach the log twice under the parent's
sequence numbers), and the child's own records get a new session id and
sequence numbers from 0, so a reader, which drops a session's repeated
sequence numbers as duplicates, keeps both processes' records.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import weakref
from typing import Callable, Optional, Sequence

import numpy as np

from .errors import CallError, ClosedError, NoSinkError
from .format import BodyWriter, Buffer, Frame, RecordKind, RecordMeta, encode_frame
from .sinks import FileSink, PubSubSink, Sink
from .spec import (
    ColorSpec,
    GridSpec,
    integer_arg,
    check_data_call,
    check_in_layout,
    check_layout,
    check_line_names,
    check_tandem_call,
    normalize_layout,
)

__all__ = ["DataLogger", "as_float32"]

log = logging.getLogger("streamvis")

#: Tensors at least this large are written at once instead of being copied
#: into the pending buffer.
DIRECT_WRITE_BYTES = 1 << 20

_MAX_WAIT_SECS = 86400.0


def as_float32(data, what: str = "data") -> np.ndarray:
    """``data`` as a C-contiguous little-endian float32 numpy array, copying
    only when its type, byte order or layout differ.

    Accepts numpy arrays, nested lists and anything numpy converts, and torch
    tensors (detached and moved to the CPU first, so CUDA tensors work).
    """
    if hasattr(data, "detach") and hasattr(data, "cpu"):  # a torch tensor
        data = data.detach()
        if str(data.dtype) != "torch.float32":
            # Convert on the device: fewer bytes to move, and numpy has no bfloat16.
            data = data.float()
        data = data.cpu().numpy()
    elif hasattr(data, "__cuda_array_interface__") and hasattr(data, "get"):  # e.g. a CuPy array
        data = data.get()
    try:
        return np.asarray(data, dtype="<f4", order="C")
    except ValueError as err:  # ragged lists, strings
        raise CallError(f"{what} cannot be read as a float32 array: {err}") from None


def _line_dims(line_dims) -> list[int]:
    if isinstance(line_dims, (list, tuple)):
        return [integer_arg(d, "line_dims entry") for d in line_dims]
    if isinstance(line_dims, np.ndarray):
        return [integer_arg(d, "line_dims entry") for d in line_dims.reshape(-1).tolist()]
    return [integer_arg(line_dims, "line_dims")]


def _new_session_id() -> int:
    return int.from_bytes(os.urandom(8), "little")


class _Shared:
    """State shared by a logger and its background flusher; the flusher
    holds no reference to the logger, so a forgotten logger is collected
    (and flushed)."""

    def __init__(self, flush_threshold_bytes: int) -> None:
        # Re-entrant: a logger collected while its lock is held (by a garbage
        # collection inside a flush) closes without deadlocking.
        self.lock = threading.RLock()
        self.pending = bytearray()
        self.sinks: list[Sink] = []
        self.threshold = flush_threshold_bytes
        #: An error met by the background flusher, raised by the next call.
        self.deferred: Optional[BaseException] = None
        self.closed = False
        self.stop = threading.Event()
        self.flusher: Optional[threading.Thread] = None
        self.flush_interval = 0.05

    def check_locked(self) -> None:
        """Raises what stops a record from being logged now."""
        if self.closed:
            raise ClosedError()
        if self.deferred is not None:
            err, self.deferred = self.deferred, None
            raise err
        if not self.sinks:
            raise NoSinkError()

    def write_locked(self, buffers: Sequence[Buffer]) -> None:
        """Hands frames to every sink; raises the first failure after all
        sinks have had them."""
        first_error = None
        for sink in self.sinks:
            try:
                sink.write(buffers)
            except Exception as err:
                first_error = first_error or err
        if first_error is not None:
            raise first_error

    def flush_locked(self) -> None:
        if self.pending:
            data, self.pending = self.pending, bytearray()
            self.write_locked([data])

    def submit_locked(self, frame: Frame) -> None:
        """Queues a frame, or writes it at once (after what is pending) if it
        holds a large tensor, which must not outlive the call."""
        if memoryview(frame.payload).nbytes < DIRECT_WRITE_BYTES:
            self.pending += frame.head
            self.pending += frame.payload
            self.pending += frame.tail
            if len(self.pending) >= self.threshold:
                self.flush_locked()
            return
        buffers = [self.pending] if self.pending else []
        buffers += frame.buffers()
        self.pending = bytearray()
        self.write_locked(buffers)

    def after_fork_in_child(self) -> None:
        """Makes the forked copy of this state the child's own: the parent's
        pending records are dropped (the parent writes them), locks and the
        flusher (whose thread did not survive the fork) start afresh, and
        each sink opens its own connection to its destination."""
        # Another thread may have held the lock at the fork; it is not
        # running in the child and would never release it.
        self.lock = threading.RLock()
        self.pending = bytearray()
        # A failed background flush was of the parent's records.
        self.deferred = None
        self.stop = threading.Event()
        had_flusher, self.flusher = self.flusher is not None, None
        if self.closed:
            return
        for sink in self.sinks:
            reopen = getattr(sink, "after_fork_in_child", None)
            if reopen is None:
                continue
            try:
                reopen()
            except Exception as err:
                log.warning("reopening a destination after fork failed: %s", err)
                if self.deferred is None:
                    self.deferred = err
        if had_flusher:
            self.start_flusher(self.flush_interval)

    def start_flusher(self, interval: float) -> None:
        self.flush_interval = interval
        if self.flusher is None:
            self.flusher = threading.Thread(
                target=self._run_flusher, args=(interval,), name="streamvis-flush", daemon=True
            )
            self.flusher.start()

    def _run_flusher(self, interval: float) -> None:
        # Event.wait overflows past time_t; an interval of a day or more
        # (or infinity) means "on flush, threshold and close only" anyway.
        interval = min(interval, _MAX_WAIT_SECS)
        while not self.stop.wait(interval):
            with self.lock:
                try:
                    self.flush_locked()
                except Exception as err:
                    log.warning("background flush failed: %s", err)
                    if self.deferred is None:
                        self.deferred = err

    def close(self) -> None:
        """Stops the flusher, flushes and closes the sinks. Runs once: from
        :meth:`DataLogger.close`, when the logger is collected, or at exit."""
        self.stop.set()
        if self.flusher is not None and self.flusher is not threading.current_thread():
            self.flusher.join()
        with self.lock:
            if self.closed:
                return
            self.closed = True
            errors = []
            try:
                self.flush_locked()
            except Exception as err:
                errors.append(err)
            for sink in self.sinks:
                try:
                    sink.close()
                except Exception as err:
                    errors.append(err)
            self.sinks = []
            if errors:
                raise errors[0]


class DataLogger:
    """Logs plots for the streamvis-gpu viewer, to a log file and/or a
    Google Pub/Sub topic.

    >>> logger = DataLogger("myapp")                          # doctest: +SKIP
    >>> logger.init_write_log("run.log")                      # doctest: +SKIP
    >>> logger.set_layout({"cloud": (0, 0, 1, 1)})            # doctest: +SKIP
    >>> logger.scatter("cloud", np.random.randn(100, 2), spatial_dim=1, append=False)  # doctest: +SKIP

    Use it as a context manager, or call :meth:`close`, to flush and release
    the destinations; pending records are also flushed at interpreter exit.

    :param run_name: stamped on every record.
    :param flush_interval: seconds between background flushes.
    :param flush_threshold_bytes: flush as soon as this much is pending.
    """

    def __init__(self, run_name: str, *, flush_interval: float = 0.05, flush_threshold_bytes: int = 4 << 20) -> None:
        if not isinstance(run_name, str):
            raise TypeError(f"run_name must be a string, got {run_name!r}")
        _check_utf8(run_name, "run_name")
        if isinstance(flush_interval, bool) or not isinstance(flush_interval, (int, float)):
            raise TypeError(f"flush_interval must be a number of seconds, got {flush_interval!r}")
        if not flush_interval > 0:  # also refuses NaN
            raise ValueError(f"flush_interval must be more than 0 seconds, got {flush_interval!r}")
        flush_threshold_bytes = integer_arg(flush_threshold_bytes, "flush_threshold_bytes")
        if flush_threshold_bytes < 0:
            raise ValueError(f"flush_threshold_bytes must be at least 0, got {flush_threshold_bytes}")
        self.run_name = run_name
        #: The random id stamped on every record of this logger.
        self.session_id = _new_session_id()
        self._next_seq = 0
        self._next_step = 0
        # The plots of the layout as last set: calls for others are refused.
        self._layout: dict[str, None] = {}  # ordered, O(1) membership
        # The line names last written per plot: written again only when
        # they change.
        self._line_names: dict[str, list[str]] = {}
        self._flush_interval = flush_interval
        self._shared = _Shared(flush_threshold_bytes)
        self._finalizer = weakref.finalize(self, self._shared.close)
        _live_loggers.add(self)

    def __repr__(self) -> str:
        return f"DataLogger(run_name={self.run_name!r}, session_id={self.session_id:016x})"

    # Destinations.

    def init_write_log(self, path: str | os.PathLike) -> None:
        """Appends records to the log file at ``path``, creating it if
        needed. An existing log is appended to after checking its header
        (:class:`~streamvis.errors.LogFormatError` if it is not a log of this
        format version); other processes may append to it at the same time."""
        self._check_open()
        self.add_sink(FileSink(path))

    def init_pubsub(self, project: str, topic: str) -> None:
        """Publishes records to the Pub/Sub topic ``topic`` of ``project``,
        which the viewer creates: start the viewer first. Needs the
        ``pubsub`` extra (google-cloud-pubsub). Messages carry no ordering
        key; a logger faster than the service blocks (see
        :class:`~streamvis.sinks.PubSubSink`)."""
        self._check_open()
        self.add_sink(PubSubSink(project, topic))

    def add_sink(self, sink: Sink) -> None:
        """Adds a destination; records logged from now on go to it too."""
        with self._shared.lock:
            if self._shared.closed:
                raise ClosedError()
            # Records already pending go to the sinks that were there first.
            self._shared.flush_locked()
            self._shared.sinks.append(sink)
        self._shared.start_flusher(self._flush_interval)

    # Logging calls.

    def set_layout(self, grid_map) -> None:
        """Sets the page layout: ``grid_map`` maps each plot name to its cell
        ``(top, left, height, width)`` in grid units."""
        self._check_open()
        cells = normalize_layout(grid_map)
        for name, _ in cells:
            _check_utf8(name, "plot name")
        check_layout(cells)

        def fill(body: BodyWriter) -> None:
            body.u32(len(cells))
            for name, cell in cells:
                body.str(name)
                for value in cell:
                    body.u32(value)

        self._emit(RecordKind.LAYOUT, fill)
        self._layout = dict.fromkeys(name for name, _ in cells)

    def clear(self) -> None:
        """Drops every plot, the layout and all data; set a layout again
        before logging more."""
        self._emit(RecordKind.CLEAR, lambda body: None)
        self._layout = {}
        self._line_names = {}

    def scatter(
        self,
        plot_name: str,
        data,
        spatial_dim: int,
        append: bool,
        color: Optional[ColorSpec] = None,
        grid: Optional[GridSpec] = None,
    ) -> None:
        """Logs a point cloud. ``data`` holds x, y (and, for colour by value,
        the colour value) along ``spatial_dim``; every other index is a
        point. With ``append`` the points are added to the plot's, otherwise
        they replace them."""
        self._data_call(RecordKind.SCATTER, plot_name, data, spatial_dim, append, color, grid, [])

    def multi_lines(
        self,
        plot_name: str,
        data,
        line_dims,
        spatial_dim: int,
        append: bool,
        color: Optional[ColorSpec] = None,
        grid: Optional[GridSpec] = None,
        names: Optional[Sequence[str]] = None,
    ) -> None:
        """Logs lines: the dimensions ``line_dims`` (an int or a list)
        enumerate the lines, the remaining non-spatial dimensions each line's
        points. With ``append`` every line grows. ``names``, one per line
        (row-major over ``line_dims``), name the lines in the viewer's
        legends and read-outs, from this call on."""
        dims = _line_dims(line_dims)
        self._data_call(RecordKind.MULTI_LINES, plot_name, data, spatial_dim, append, color, grid, dims, names)

    def tandem_lines(
        self,
        plot_name: str,
        x: float,
        ys,
        palette: Optional[str] = None,
        names: Optional[Sequence[str]] = None,
    ) -> None:
        """Adds the point ``(x, ys[k])`` to line ``k`` of the plot, e.g. one
        loss value per line per training step. ``names``, one per line (e.g.
        ``["train", "val"]``), name the lines, from this call on."""
        self._check_open()
        _check_plot_name(plot_name)
        if isinstance(x, (str, bytes)):
            raise TypeError(f"x must be a number, got {x!r}")
        x = float(x)
        values = as_float32(ys, "ys")
        if values.ndim > 1:
            raise CallError(f"ys must hold one value per line, got an array of shape {list(values.shape)}")
        values = values.reshape(-1)
        if palette is not None and not isinstance(palette, str):
            raise TypeError(f"palette must be a palette name, got {palette!r}")
        check_in_layout(plot_name, self._layout)
        check_tandem_call(palette, len(values))
        if names is not None:
            names = check_line_names(names, len(values))

        def fill(body: BodyWriter) -> None:
            body.str(plot_name)
            if palette is None:
                body.u32(0)
            else:
                body.u32(1)
                body.str(palette)
            body.pad8()
            body.f64_bits(x)
            body.tensor(values)

        self._emit_line_names(plot_name, names)
        self._emit(RecordKind.TANDEM_LINES, fill)

    def _emit_line_names(self, plot_name: str, names: Optional[list[str]]) -> None:
        """Writes a LineNames record for the plot when ``names`` (checked)
        differ from the names last written for it."""
        if names is None or self._line_names.get(plot_name) == names:
            return
        for name in names:
            _check_utf8(name, "line name")

        def fill(body: BodyWriter) -> None:
            body.str(plot_name)
            body.u32(len(names))
            for name in names:
                body.str(name)

        self._emit(RecordKind.LINE_NAMES, fill)
        self._line_names[plot_name] = names

    def end_step(self) -> int:
        """Marks the end of a training step (a video made from the log gets
        one frame per step). Returns the step's number."""
        step = self._next_step

        def fill(body: BodyWriter) -> None:
            body.pad8()
            body.u64(step)

        self._emit(RecordKind.STEP, fill)
        self._next_step += 1
        return step

    # Delivery.

    def flush(self) -> None:
        """Hands every pending record to the destinations and waits until
        they have them (for a file: written; for Pub/Sub: published)."""
        with self._shared.lock:
            if self._shared.closed:
                raise ClosedError()
            if self._shared.deferred is not None:
                err, self._shared.deferred = self._shared.deferred, None
                raise err
            self._shared.flush_locked()
            for sink in self._shared.sinks:
                sink.sync()

    def close(self) -> None:
        """Flushes and releases the destinations; later calls raise."""
        self._finalizer()

    @property
    def closed(self) -> bool:
        return self._shared.closed

    def __enter__(self) -> "DataLogger":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # Internals.

    def _check_open(self) -> None:
        """Refuses a call on a closed logger before looking at its arguments
        (which may be costly to convert, such as a CUDA tensor)."""
        if self._shared.closed:
            raise ClosedError()

    def _after_fork_in_child(self) -> None:
        """Turns the forked copy of this logger into a new session of the
        child's (see the module's docs)."""
        self.session_id = _new_session_id()
        self._next_seq = 0
        self._shared.after_fork_in_child()

    def _data_call(
        self,
        kind: RecordKind,
        plot_name: str,
        data,
        spatial_dim: int,
        append: bool,
        color: Optional[ColorSpec],
        grid: Optional[GridSpec],
        line_dims: list[int],
        names: Optional[Sequence[str]] = None,
    ) -> None:
        self._check_open()
        _check_plot_name(plot_name)
        spatial_dim = integer_arg(spatial_dim, "spatial_dim")
        if color is not None and not isinstance(color, ColorSpec):
            raise TypeError(f"color must be a ColorSpec or None, got {color!r}")
        if grid is not None and not isinstance(grid, GridSpec):
            raise TypeError(f"grid must be a GridSpec or None, got {grid!r}")
        array = as_float32(data)
        check_in_layout(plot_name, self._layout)
        kind_name = "multi_lines" if kind == RecordKind.MULTI_LINES else "scatter"
        check_data_call(kind_name, array.shape, spatial_dim, color, grid, line_dims)
        if names is not None:
            names = check_line_names(names, int(np.prod([array.shape[d] for d in line_dims])))

        def fill(body: BodyWriter) -> None:
            body.str(plot_name)
            body.u32(spatial_dim)
            body.u32(1 if append else 0)
            if color is None:
                body.u32(0)
            elif color.dim is None:
                body.u32(1)
                body.str(color.palette)
            else:
                body.u32(2)
                body.str(color.palette)
                body.u32(color.dim)
            if grid is None:
                body.u32(0)
            else:
                body.u32(1)
                body.u32(grid.dim)
                body.u32(grid.num_columns)
                body.f32(grid.padding_factor_f32)
            body.u32(len(line_dims))
            for dim in line_dims:
                body.u32(dim)
            body.tensor(array)

        self._emit_line_names(plot_name, names)
        self._emit(kind, fill)

    def _emit(self, kind: RecordKind, fill: Callable[[BodyWriter], None]) -> None:
        """Encodes one record and queues (or writes) it; a sequence number is
        used only once the record is encoded."""
        shared = self._shared
        with shared.lock:
            shared.check_locked()
            body = BodyWriter(RecordMeta(self.session_id, self._next_seq, time.time_ns(), self.run_name))
            fill(body)
            frame = encode_frame(kind, body)
            self._next_seq += 1
            shared.submit_locked(frame)


#: Every logger not yet collected, for the fork handler.
_live_loggers: "weakref.WeakSet[DataLogger]" = weakref.WeakSet()


def _after_fork_in_child() -> None:
    loggers = list(_live_loggers)
    for logger in loggers:
        logger._after_fork_in_child()
    # A multiprocessing worker ends in os._exit, past atexit: have
    # multiprocessing's own exit hook flush what the worker logged last.
    # (Its finalizers registered now would be cleared when the worker
    # starts; its after-fork hooks run just after that.)
    mp_util = sys.modules.get("multiprocessing.util")
    if mp_util is not None:
        for logger in loggers:
            mp_util.register_after_fork(logger._shared, _close_at_multiprocessing_exit)


def _close_at_multiprocessing_exit(shared: _Shared) -> None:
    sys.modules["multiprocessing.util"].Finalize(shared, shared.close, exitpriority=0)


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _check_plot_name(plot_name) -> None:
    if not isinstance(plot_name, str):
        raise TypeError(f"plot_name must be a string, got {plot_name!r}")


def _check_utf8(text: str, what: str) -> None:
    """Names are stored as UTF-8, which cannot hold a lone surrogate (as
    ``os.fsdecode`` makes of undecodable bytes). Control characters are
    accepted, as the Rust logger accepts them."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise CallError(f"{what} {text!r} cannot be stored as UTF-8: {err.reason} at index {err.start}") from None

"""Exceptions raised by the logger."""

from __future__ import annotations

__all__ = [
    "StreamvisError",
    "CallError",
    "NoSinkError",
    "ClosedError",
    "LogFormatError",
    "UnsupportedVersionError",
    "SinkError",
    "PubSubError",
]


class StreamvisError(Exception):
    """Base class of every error this package raises."""


class CallError(StreamvisError, ValueError):
    """A logger call was refused: nothing was written and no sequence
    number was used. The message says what was wrong."""


class NoSinkError(StreamvisError, RuntimeError):
    """A call was made before any destination was set up."""

    def __init__(self) -> None:
        super().__init__("no destination: call init_write_log (or init_pubsub) first")


class ClosedError(StreamvisError, RuntimeError):
    """A call was made on a closed logger."""

    def __init__(self) -> None:
        super().__init__("the logger is closed: create a new DataLogger to log more")


class LogFormatError(StreamvisError, ValueError):
    """An existing file is not a log this package can append to."""


class UnsupportedVersionError(LogFormatError):
    """An existing log was written in another major version of the format."""

    def __init__(self, path: str, major: int, minor: int, supported: int) -> None:
        self.major, self.minor, self.supported = major, minor, supported
        super().__init__(
            f"cannot append to {path!r}: log format version {major}.{minor} is not supported "
            f"(this logger writes {supported}.x)"
        )


class SinkError(StreamvisError, OSError):
    """Writing to a destination failed."""


class PubSubError(SinkError):
    """Publishing to Google Pub/Sub failed, or the topic is missing."""

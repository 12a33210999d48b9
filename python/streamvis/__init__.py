"""streamvis: log training plots for the streamvis-gpu viewer.

A pure-Python twin of the Rust ``DataLogger``: it writes the same binary log
records, byte for byte, to a log file or a Google Pub/Sub topic, with the
API of the original streamvis::

    from streamvis import DataLogger, ColorSpec, GridSpec

    logger = DataLogger("myapp")
    logger.init_write_log("run.log")
    logger.set_layout({"cloud": (0, 0, 1, 1)})
    logger.scatter("cloud", points, spatial_dim=1, append=False, color=ColorSpec("Viridis256", 0))
"""

from .errors import (
    CallError,
    ClosedError,
    LogFormatError,
    NoSinkError,
    PubSubError,
    SinkError,
    StreamvisError,
    UnsupportedVersionError,
)
from .logger import DataLogger
from .spec import ColorSpec, GridSpec

__version__ = "0.1.0"

__all__ = [
    "DataLogger",
    "ColorSpec",
    "GridSpec",
    "StreamvisError",
    "CallError",
    "NoSinkError",
    "ClosedError",
    "LogFormatError",
    "UnsupportedVersionError",
    "SinkError",
    "PubSubError",
]

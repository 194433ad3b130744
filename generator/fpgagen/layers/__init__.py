"""Hardware layers of the streaming dataflow."""

from .base import HWLayer, check_identifier, sanitize
from .branch import AddStreams, DuplicateStreams
from .conv import FMPadding, SlidingWindow
from .mvau import MVAU
from .pool import GlobalAccPool, LabelSelect, Pool
from .stream import DWC, FIFO
from .thresholding import Thresholding
from .vvau import VVAU

__all__ = [
    "HWLayer",
    "MVAU",
    "VVAU",
    "Thresholding",
    "FIFO",
    "DWC",
    "SlidingWindow",
    "FMPadding",
    "Pool",
    "GlobalAccPool",
    "LabelSelect",
    "DuplicateStreams",
    "AddStreams",
    "check_identifier",
    "sanitize",
]

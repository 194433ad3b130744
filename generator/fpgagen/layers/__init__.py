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
    "DWC",
    "FIFO",
    "MVAU",
    "VVAU",
    "AddStreams",
    "DuplicateStreams",
    "FMPadding",
    "GlobalAccPool",
    "HWLayer",
    "LabelSelect",
    "Pool",
    "SlidingWindow",
    "Thresholding",
    "check_identifier",
    "sanitize",
]

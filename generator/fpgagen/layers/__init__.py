"""Hardware layers of the streaming dataflow: one class per layer type, registered by its
``op_type`` in :data:`LAYER_TYPES` (docs/architecture.md, "How to add a layer")."""

from .base import LAYER_TYPES, HWLayer, check_identifier, sanitize
from .branch import AddStreams, DuplicateStreams
from .conv import FMPadding, SlidingWindow
from .hw import Kind, Memory, SignedInt
from .mvau import MVAU
from .pool import GlobalAccPool, LabelSelect, Pool
from .stream import DWC, FIFO
from .thresholding import Thresholding
from .vvau import VVAU

__all__ = [
    "DWC",
    "FIFO",
    "LAYER_TYPES",
    "MVAU",
    "VVAU",
    "AddStreams",
    "DuplicateStreams",
    "FMPadding",
    "GlobalAccPool",
    "HWLayer",
    "Kind",
    "LabelSelect",
    "Memory",
    "Pool",
    "SignedInt",
    "SlidingWindow",
    "Thresholding",
    "check_identifier",
    "sanitize",
]

"""Hardware layers of the streaming dataflow."""

from .base import HWLayer, check_identifier, sanitize
from .mvau import MVAU
from .stream import DWC, FIFO
from .thresholding import Thresholding

__all__ = ["HWLayer", "MVAU", "Thresholding", "FIFO", "DWC", "check_identifier", "sanitize"]

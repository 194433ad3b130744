"""The runtime: one API over the board devices (pynq, xrt) and the simulated ones (emu, golden).

``Accelerator(deploy_dir, device)`` -> ``run(x)``, ``throughput(n)``; see docs/runtime.md.
The modules ``accelerator``, ``design`` and ``devices`` (with ``abi``, ``datatypes``,
``errors``, ``hostops`` and ``packing``) are vendored into every build's ``deploy/`` folder as
the package ``fpgagen_runtime`` (numpy + pynq or pyxrt only); ``simdev`` (the emulated and
golden kernels) and ``deploy`` (writing the deploy folder) need fpgagen.
"""

from .accelerator import DEVICES, Accelerator, open_device
from .design import Design

__all__ = ["DEVICES", "Accelerator", "Design", "open_device"]

"""Project exception types.

Every error a user can cause is raised as a :class:`FpgagenError` (or a subclass) with a
one-line message that names the file/node/op/value, says what is supported and what to do.
The CLI prints ``fpgagen: error: <message>`` and exits with code 2.
"""


class FpgagenError(Exception):
    """A user-facing error; its message is one line."""

    exit_code = 2


class UnsupportedModelError(FpgagenError):
    """The ONNX model uses an op, attribute, data type or bit width fpgagen does not support."""


class FoldingError(FpgagenError):
    """A folding (PE/SIMD) is invalid for a layer."""


class BoardError(FpgagenError):
    """A board name or board file is invalid."""


class SimulationError(FpgagenError):
    """A simulator is missing, failed to build, or the simulation did not complete."""


class VerificationError(FpgagenError):
    """A backend's outputs differ from the golden model (exit code 1)."""

    exit_code = 1


class DeployError(FpgagenError):
    """A deploy folder, its bitstream or the device it runs on is missing, invalid or failed."""


class Interrupted(KeyboardInterrupt):
    """SIGINT, SIGTERM or SIGHUP arrived; clean-up handlers run as for Ctrl-C."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum

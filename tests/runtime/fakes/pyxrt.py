"""A fake of XRT's Python bindings (pyxrt: device, xclbin, kernel, bo, run) for runtime tests.

Documented API surface only (XRT "XRT Python Bindings"): ``device(index)``,
``device.load_xclbin(path_or_xclbin) -> uuid``, ``xclbin(path)``,
``kernel(device, uuid, "name" | "name:{cu}")`` with ``group_id(arg)``, ``run(kernel)`` with
``set_arg(index, value)``, ``start()`` and ``wait(timeout_ms) -> ert_cmd_state``, ``bo(device, size, flags, group)`` with
``map()``, ``address()``, ``size()``, ``sync(direction, size, offset)``,
``xclBOSyncDirection``, ``ert_cmd_state``.

Compute units are ``CUS`` (names); ``KERNELS[cu]`` may hold a kernel model (``write_reg``/
``read_reg``/``write_mem``/``read_mem``/``step``, e.g. the golden kernel) that executes each run
through the abi register map, as XRT would program the CU. Every call is appended to ``TRACE``.
"""

from __future__ import annotations

import enum
import os

TRACE: list = []
CUS: list = ["fpgagen_kernel_1"]
KERNELS: dict = {}
_next = [0x40_0000_0000]


class xclBOSyncDirection(enum.Enum):
    XCL_BO_SYNC_BO_TO_DEVICE = 0
    XCL_BO_SYNC_BO_FROM_DEVICE = 1


class ert_cmd_state(enum.Enum):
    ERT_CMD_STATE_NEW = 1
    ERT_CMD_STATE_COMPLETED = 4
    ERT_CMD_STATE_ERROR = 5


class uuid:
    def __init__(self, s):
        self.s = s


class xclbin:
    def __init__(self, path):
        if not os.path.isfile(str(path)):
            raise RuntimeError(f"xclbin {path} not found")
        self.path = str(path)


class device:
    def __init__(self, index=0):
        TRACE.append(("device", int(index)))
        self.loaded = None

    def load_xclbin(self, xb):
        path = xb.path if isinstance(xb, xclbin) else str(xb)
        if not os.path.isfile(path):
            raise RuntimeError(f"xclbin {path} not found")
        TRACE.append(("load_xclbin", os.path.basename(path)))
        self.loaded = uuid(path)
        return self.loaded


class bo:
    class flags(enum.Enum):
        normal = 0
        cacheable = 1
        device_only = 2
        host_only = 3

    normal = flags.normal

    def __init__(self, dev, size, flags, group):
        self._host = bytearray(int(size))
        self._dev = bytearray(int(size))
        self._addr = _next[0]
        _next[0] += -(-int(size) // 4096) * 4096
        self.group = group
        TRACE.append(("bo", self._addr, int(size), group))

    def map(self):
        return memoryview(self._host)

    def address(self):
        return self._addr

    def size(self):
        return len(self._host)

    def sync(self, direction, size, offset):
        TRACE.append(("sync", self._addr, direction.name, int(size), int(offset)))
        if direction is xclBOSyncDirection.XCL_BO_SYNC_BO_TO_DEVICE:
            self._dev[offset : offset + size] = self._host[offset : offset + size]
        else:
            self._host[offset : offset + size] = self._dev[offset : offset + size]


#: the kernel's arguments by index, as Vitis numbers them (abi.ARG_*): status is an output
#: scalar, which XRT cannot set
ARG_NAMES = ("in", "out", "n", "status", "w")


class run:
    """``run(kernel)``: arguments by ``set_arg(index, value)``, then ``start()``, ``wait()``."""

    def __init__(self, krnl):
        self._k = krnl
        self._args: dict = {}
        self._state = ert_cmd_state.ERT_CMD_STATE_NEW

    def set_arg(self, index, value):
        index = int(index)
        if not 0 <= index < len(ARG_NAMES) or ARG_NAMES[index] == "status":
            raise RuntimeError(f"kernel argument {index} cannot be set")
        self._args[ARG_NAMES[index]] = value

    def start(self):
        missing = {"in", "out", "n"} - set(self._args)
        if missing:
            raise RuntimeError(f"kernel arguments {sorted(missing)} are not set")
        self._state = self._k._execute(self._args)

    def wait(self, timeout_ms=0):
        return self._state

    def state(self):
        return self._state


class kernel:
    def __init__(self, dev, xclbin_uuid, name, mode=None):
        base, _, cu = name.partition(":")
        cus = [c.strip() for c in cu.strip("{}").split(",")] if cu else list(CUS)
        if base != "fpgagen_kernel" or not set(cus) <= set(CUS):
            raise RuntimeError(f"No compute units matching '{name}'")
        self.cus = cus
        TRACE.append(("kernel", name))

    def group_id(self, argno):
        return 0 if int(argno) in (0, 1, 4) else -1

    def _execute(self, args):
        in_bo, out_bo, n, w_bo = args["in"], args["out"], args["n"], args.get("w")
        cu = self.cus[0]
        TRACE.append(("run", cu, in_bo.address(), out_bo.address(), int(n)))
        k = KERNELS.get(cu)
        if k is None:
            return ert_cmd_state.ERT_CMD_STATE_COMPLETED
        k.write_mem(in_bo.address(), bytes(in_bo._dev))
        regs = [
            (0x10, in_bo.address() & 0xFFFFFFFF),
            (0x14, in_bo.address() >> 32),
            (0x1C, out_bo.address() & 0xFFFFFFFF),
            (0x20, out_bo.address() >> 32),
            (0x28, int(n)),
        ]
        if w_bo is not None:  # WGT_LO/WGT_HI
            k.write_mem(w_bo.address(), bytes(w_bo._dev))
            regs += [(0x40, w_bo.address() & 0xFFFFFFFF), (0x44, w_bo.address() >> 32)]
        for off, v in [*regs, (0x00, 1)]:
            k.write_reg(off, v)
        for _ in range(1_000_000):
            if k.read_reg(0x00) & 0x2:
                break
            k.step(64)
        else:
            return ert_cmd_state.ERT_CMD_STATE_ERROR
        out_bo._dev[:] = bytes(k.read_mem(out_bo.address(), out_bo.size()))
        return ert_cmd_state.ERT_CMD_STATE_COMPLETED

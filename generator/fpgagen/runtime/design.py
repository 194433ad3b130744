"""A build's deploy folder: its metadata (``design.json``), host constants and bitstream.

:class:`Design` reads ``deploy/design.json`` (written by ``fpgagen build``, fields in
docs/runtime.md) and ``deploy/host.npz`` (the constants of the host head and tail), and knows
how the kernel's buffers are laid out (:class:`StreamLayout`, packing through
:mod:`fpgagen.packing`). :meth:`Design.bitstream` finds the bitstream files of a device kind
and checks them against ``deploy/bitstream.json`` (written by the vendor flow).

Numpy only: this module is vendored into every deploy folder.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from .. import abi, cpulayers, hostops, packing
from ..datatypes import DataType
from ..errors import DeployError

__all__ = ["FORMAT", "Design", "StreamLayout", "file_sha256"]

#: version of the design.json layout this runtime reads
FORMAT = 1

#: bitstream files a device kind loads, in order of preference (one of each group)
BITSTREAM_FILES = {
    "pynq": [(f"{abi.BITSTREAM_BASE}.bit",), (f"{abi.BITSTREAM_BASE}.hwh",)],
    "xrt": [(f"{abi.BITSTREAM_BASE}.awsxclbin", f"{abi.BITSTREAM_BASE}.xclbin")],
}


def file_sha256(path) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class StreamLayout:
    """One kernel buffer's layout: frames of ``words_per_frame`` stream words of
    ``elems`` elements of ``dtype``, densely packed (docs/conventions.md) and padded to the
    bus width."""

    def __init__(self, d: dict, bus_bits: int, where: str):
        try:
            self.dtype = DataType(d["dtype"])
            self.elems = int(d["elems"])
            self.word_bits = int(d["word_bits"])
            self.words_per_frame = int(d["words_per_frame"])
            self.elements_per_frame = int(d["elements_per_frame"])
        except (KeyError, TypeError, ValueError) as e:
            raise DeployError(f"{where}: bad stream layout ({type(e).__name__}: {e})") from None
        self.bus_bits = int(bus_bits)
        if (
            self.word_bits != self.elems * self.dtype.bits
            or self.elems * self.words_per_frame != self.elements_per_frame
        ):
            raise DeployError(f"{where}: inconsistent stream layout {d}")

    def nbytes(self, n_frames: int) -> int:
        """Bytes of the buffer of ``n_frames`` frames."""
        return abi.buffer_bytes(n_frames, self.words_per_frame, self.word_bits, self.bus_bits)

    def pack(self, values: np.ndarray) -> np.ndarray:
        """Integers ``(N, elements_per_frame)`` -> the dense buffer (flat uint8)."""
        return packing.pack_values_buffer(np.asarray(values), self.dtype, self.bus_bits)

    def unpack(self, buf: np.ndarray, n_frames: int) -> np.ndarray:
        """The first ``n_frames`` frames of a dense buffer -> integers ``(N, elements)``."""
        n = n_frames * self.elements_per_frame
        return packing.unpack_values_buffer(buf, n, self.dtype).reshape(n_frames, -1)


class Design:
    """The metadata of a deploy folder (``deploy_dir/design.json`` + ``host.npz``)."""

    def __init__(self, deploy_dir):
        self.dir = Path(deploy_dir)
        path = self.dir / abi.DESIGN_FILE
        if not path.is_file():
            raise DeployError(
                f"{path}: no such file; give the deploy folder that `fpgagen build` wrote "
                "(OUTDIR/deploy)"
            )
        try:
            d = json.loads(path.read_text())
        except ValueError as e:
            raise DeployError(f"{path}: not valid JSON ({e})") from None
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise DeployError(
                f"{path}: design format {d.get('format') if isinstance(d, dict) else None!r} "
                f"is not {FORMAT}; rebuild with the fpgagen that made this runtime"
            )
        self.path = path
        self.raw = d
        self.bitstream_meta: dict = {}
        try:
            self.name = d["name"]
            self.kernel = d["kernel"]
            self.bus_bits = int(self.kernel["bus_bits"])
            self.clock_mhz = float(d["clock_mhz"])
            self.design_hash = d["design_hash"]
            self.head = d["host"]["head"]
            self.tail = d["host"]["tail"]
            self.cpu_head = list(d["host"].get("cpu_head") or [])
            self.cpu_tail = list(d["host"].get("cpu_tail") or [])
            consts_file = d["host"]["consts_file"]
            const_keys = d["host"]["consts"]
        except (KeyError, TypeError, ValueError) as e:
            raise DeployError(f"{path}: missing or bad field ({type(e).__name__}: {e})") from None
        #: the weight buffer of a kernel with external weights (design.json "weights"), or None
        self.weights = d.get("weights") or None
        self.input = StreamLayout(d["input"], self.bus_bits, f"{path}: input")
        self.output = StreamLayout(d["output"], self.bus_bits, f"{path}: output")
        for n in [*self.head["nodes"], self.head["quant"], *self.tail["post"]]:
            if n["op"] not in hostops.OPS:
                raise DeployError(f"{path}: host op {n['op']!r} is not known to this runtime")
        for s in [*self.cpu_head, *self.cpu_tail]:
            if s.get("op") not in cpulayers.OPS:
                raise DeployError(
                    f"{path}: CPU layer op {s.get('op')!r} is not known to this runtime"
                )
        npz = self.dir / consts_file
        if not npz.is_file():
            raise DeployError(f"{npz}: no such file (the host head/tail constants)")
        with np.load(npz, allow_pickle=False) as z:
            self.consts = {name: z[key] for name, key in const_keys.items()}

    def weight_image(self) -> bytes:
        """The weight buffer's contents (deploy/weights.bin), checked against design.json's
        size and sha256; the driver copies it to the device once at load time."""
        w = self.weights
        path = self.dir / w["file"]
        if Path(w["file"]).name != w["file"] or not path.is_file():
            raise DeployError(
                f"{path}: the weight image of this design is missing; copy the whole deploy "
                "folder, or rebuild with `fpgagen build`"
            )
        data = path.read_bytes()
        if len(data) != int(w["bytes"]) or hashlib.sha256(data).hexdigest() != w["sha256"]:
            raise DeployError(
                f"{path}: {len(data)} bytes that do not match design.json ({w['bytes']} bytes, "
                "sha256 recorded there); the deploy folder is damaged, rebuild with `fpgagen build`"
            )
        return data

    # -- host side ----------------------------------------------------------------------------
    @property
    def input_shape(self) -> tuple:
        """The ONNX input shape (batch 1)."""
        return tuple(self.head["input_shape"])

    @property
    def output_shape(self) -> tuple:
        """The ONNX output shape (batch 1)."""
        return tuple(self.tail["out_shape"])

    def run_head(self, x) -> np.ndarray:
        """Float inputs (ONNX input layout and scale) -> integer codes for the kernel (the
        host head, then the CPU head layers of a partitioned build)."""
        try:
            codes = hostops.run_head(x, self.head, self.consts)
        except hostops.HostOpsError as e:
            raise DeployError(f"{self.name}: {e}") from None
        return self.run_cpu_head(codes) if self.cpu_head else codes

    def run_cpu_head(self, codes) -> np.ndarray:
        """The CPU head layers alone: input-quantizer codes -> the kernel's input codes."""
        return cpulayers.run_layers(codes, self.cpu_head, self.consts)

    def run_cpu_tail(self, v) -> np.ndarray:
        """The CPU tail layers alone: the kernel's output -> the host tail's input."""
        return cpulayers.run_layers(v, self.cpu_tail, self.consts)

    def run_tail(self, v) -> np.ndarray:
        """The kernel's output integers -> the ONNX model's output (the CPU tail layers of
        a partitioned build, then the host tail)."""
        if self.cpu_tail:
            v = self.run_cpu_tail(v)
        return hostops.run_tail(v, self.tail, self.consts)

    # -- bitstream ------------------------------------------------------------------------------
    def bitstream(self, kind: str) -> dict:
        """Paths of the bitstream files device ``kind`` loads ("pynq": ``.bit`` + ``.hwh``,
        "xrt": ``.awsxclbin`` or ``.xclbin``), checked against ``bitstream.json``: its
        ``design_hash`` must equal this design's and each file's sha256 must match."""
        meta_path = self.dir / abi.BITSTREAM_FILE
        found = {}
        for group in BITSTREAM_FILES[kind]:
            hits = [self.dir / name for name in group if (self.dir / name).is_file()]
            if not hits:
                raise DeployError(
                    f"{self.dir / group[0]}: no bitstream for device {kind} (searched "
                    f"{', '.join(str(self.dir / g) for g in group)}); build it with the vendor "
                    "project (OUTDIR/project) and copy the whole deploy folder"
                )
            found[group[-1].rsplit(".", 1)[1]] = hits[0]
        if not meta_path.is_file():
            raise DeployError(
                f"{meta_path}: no such file; the vendor flow writes it next to the bitstream"
            )
        try:
            meta = json.loads(meta_path.read_text())
            files = dict(meta["files"])
            their_hash = meta["design_hash"]
        except (ValueError, KeyError, TypeError) as e:
            raise DeployError(f"{meta_path}: bad bitstream metadata ({e})") from None
        if their_hash != self.design_hash:
            raise DeployError(
                f"{meta_path}: the bitstream was built from design {their_hash}, this deploy "
                f"folder is design {self.design_hash}; rebuild the bitstream from this build"
            )
        for p in found.values():
            want = files.get(p.name)
            if want is None:
                raise DeployError(f"{p}: not listed in {meta_path}; rerun the vendor flow")
            if file_sha256(p) != want:
                raise DeployError(
                    f"{p}: sha256 does not match {meta_path}; the file was changed or "
                    "belongs to another build"
                )
        self.bitstream_meta = meta
        return found

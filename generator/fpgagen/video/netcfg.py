"""Darknet-style network description (``OUTDIR/network.cfg``): reading it.

``fpgagen build`` writes one ``[section]`` per layer with Darknet's keys (``[net]``,
``[convolutional]``, ``[maxpool]``, ``[connected]``, ``[region]``), marks where each runs
(``fpgagen_device=cpu|fpga``) and puts the layers the accelerator runs into one
``[offload]`` section (the layers themselves follow as comment lines, so Darknet's parser
sees one layer); see docs/video.md. Keys Darknet does not know start with ``fpgagen_``.

Numpy only (nothing but the standard library here): vendored into ``deploy/``.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import FpgagenError

__all__ = ["NetworkCfg", "read_cfg"]


class NetworkCfgError(FpgagenError):
    """A network.cfg that cannot be used (one line, names the file)."""


def read_cfg(path) -> list[tuple[str, dict]]:
    """Sections of a Darknet cfg file in order: ``[(name, {key: value-string})]``
    (``#`` and ``;`` start comment lines)."""
    path = Path(path)
    if not path.is_file():
        raise NetworkCfgError(f"{path}: no such file; `fpgagen build` writes OUTDIR/network.cfg")
    sections: list[tuple[str, dict]] = []
    for no, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            sections.append((line[1:-1].strip(), {}))
            continue
        if "=" not in line or not sections:
            raise NetworkCfgError(f"{path}:{no}: expected [section] or key=value, got {line!r}")
        k, v = line.split("=", 1)
        sections[-1][1][k.strip()] = v.strip()
    return sections


class NetworkCfg:
    """What the video pipeline needs from network.cfg: input size and the region layer."""

    def __init__(self, path):
        self.path = Path(path)
        self.sections = read_cfg(self.path)
        nets = [d for n, d in self.sections if n in ("net", "network")]
        regions = [d for n, d in self.sections if n == "region"]
        if not nets:
            raise NetworkCfgError(f"{self.path}: no [net] section")
        if not regions:
            raise NetworkCfgError(
                f"{self.path}: no [region] section, so this build is not a YOLOv2-style "
                "detector; train one with `fpgagen train --model tinier_yolo` and build it"
            )
        net, reg = nets[0], regions[0]
        try:
            self.width = int(net["width"])
            self.height = int(net["height"])
            self.channels = int(net.get("channels", 3))
            self.num_classes = int(reg["classes"])
            self.num = int(reg["num"])
            a = [float(v) for v in reg["anchors"].split(",") if v.strip()]
        except (KeyError, ValueError) as e:
            raise NetworkCfgError(
                f"{self.path}: bad [net]/[region] ({type(e).__name__}: {e})"
            ) from None
        if len(a) != 2 * self.num:
            raise NetworkCfgError(
                f"{self.path}: [region] has num={self.num} but {len(a)} anchor values"
            )
        self.anchors = [(a[2 * i], a[2 * i + 1]) for i in range(self.num)]
        self.thresh = float(reg.get("thresh", 0.24))
        names = reg.get("fpgagen_names")
        self.names = [f"class{c}" for c in range(self.num_classes)]
        if names:
            npath = self.path.parent / names
            if npath.is_file():
                got = [s.strip() for s in npath.read_text().splitlines() if s.strip()]
                if len(got) == self.num_classes:
                    self.names = got
        self.devices = [d.get("fpgagen_device", "cpu") for n, d in self.sections if n != "net"]

"""The import direction of the generator (docs/architecture.md, "Layering").

Every module of ``generator/fpgagen`` is parsed (ast, nothing is imported) and each of its
imports of another fpgagen module, at module level or inside a function (lazy imports count),
must go to the same or a lower level. A new module must be placed in ``LEVELS``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "generator" / "fpgagen"

#: lowest first; a module takes the level of its longest matching prefix
LAYERS = [
    # base: types, IR, bit packing, data files, errors, host-side arithmetic, board files
    (
        "fpgagen",
        "fpgagen.errors",
        "fpgagen.datatypes",
        "fpgagen.ir",
        "fpgagen.packing",
        "fpgagen.resources",
        "fpgagen.abi",
        "fpgagen.hostops",
        "fpgagen.cpulayers",
        "fpgagen.boards",
        "fpgagen.yolo",
        "fpgagen.charts",
        "fpgagen.outdir",
        "fpgagen.userio",
    ),
    ("fpgagen.frontend",),
    ("fpgagen.layers",),
    ("fpgagen.cost",),
    ("fpgagen.dataflow",),
    ("fpgagen.transforms",),
    ("fpgagen.fold",),
    ("fpgagen.codegen",),
    # the deployment rooms above codegen, the simulators, the report that flow calls, and the
    # I/O term of the cost model (it reads the kernel's bus design from codegen.kernel)
    (
        "fpgagen.cost.io",
        "fpgagen.project",
        "fpgagen.runtime.deploy",
        "fpgagen.runtime.design",
        "fpgagen.video",
        "fpgagen.kernel",
        "fpgagen.sim",
        "fpgagen.report",
    ),
    ("fpgagen.flow",),
    # consumers of whole builds: synthesis, board sweeps, the runtime (its golden and emu
    # devices load a build folder), model training, the task engine (local pool / Dask) they
    # run on, the command line
    (
        "fpgagen.tasks",
        "fpgagen.synth",
        "fpgagen.scale",
        "fpgagen.runtime",
        "fpgagen.video.pipeline",
        "fpgagen.video.cli",
        "fpgagen.models",
        "fpgagen.cli",
        "fpgagen.__main__",
    ),
]
LEVELS = {prefix: i for i, group in enumerate(LAYERS) for prefix in group}
#: known upward edges, each with the reason and who removes it; keep this empty
ALLOWED_UPWARD: set = set()


def level(module: str) -> int | None:
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        lv = LEVELS.get(".".join(parts[:n]))
        if lv is not None and (n > 1 or module == "fpgagen"):
            return lv
    return None


def _module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _exists(module: str) -> bool:
    rel = Path(*module.split("."))
    base = PKG.parent / rel
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def fpgagen_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import of an fpgagen module in ``path`` (lazy ones too)."""
    return imports_of(path.read_text(), _module_name(path), path.name == "__init__.py")


def imports_of(src: str, mod: str, is_package: bool = False) -> list[tuple[int, str]]:
    """(line, module) of every fpgagen import in source ``src`` of module ``mod``."""
    package = mod if is_package else mod.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.startswith("fpgagen")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("fpgagen"):
                continue
            # ``from .. import packing``: the names may be modules themselves
            subs = [f"{target}.{a.name}" for a in node.names if _exists(f"{target}.{a.name}")]
            out += [(node.lineno, m) for m in subs] or [(node.lineno, target)]
    return out


MODULES = sorted(PKG.rglob("*.py"))


def test_every_module_has_a_level():
    missing = [_module_name(p) for p in MODULES if level(_module_name(p)) is None]
    assert not missing, (
        f"modules without a place in the layering: {missing}; add them to LAYERS in "
        "tests/test_layering.py and to the picture in docs/architecture.md"
    )


@pytest.mark.parametrize("path", MODULES, ids=lambda p: _module_name(p))
def test_imports_point_down(path):
    me = _module_name(path)
    lv = level(me)
    bad = [
        f"line {line}: {me} (level {lv}) imports {target} (level {level(target)})"
        for line, target in fpgagen_imports(path)
        if level(target) is not None and level(target) > lv and (me, target) not in ALLOWED_UPWARD
    ]
    assert not bad, "upward imports (docs/architecture.md, Layering):\n" + "\n".join(bad)


def test_checker_sees_lazy_and_relative_imports():
    """Relative, ``from .. import module`` and function-level imports are all resolved."""
    src = (
        "from .. import packing, __version__\n"
        "from .base import HWLayer\n"
        "import fpgagen.cost.model\n"
        "def f():\n"
        "    from ..flow import build\n"
    )
    found = imports_of(src, "fpgagen.layers.toy")
    assert found == [
        (1, "fpgagen.packing"),
        (2, "fpgagen.layers.base"),
        (3, "fpgagen.cost.model"),
        (5, "fpgagen.flow"),
    ]
    lv = level("fpgagen.layers.toy")
    assert [m for _, m in found if level(m) > lv] == ["fpgagen.cost.model", "fpgagen.flow"]
    assert imports_of("from . import hw\n", "fpgagen.layers", is_package=True) == [
        (1, "fpgagen.layers.hw")
    ]
    assert level("fpgagen.runtime.simdev") > level("fpgagen.flow") > level("fpgagen.runtime.deploy")

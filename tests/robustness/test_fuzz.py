"""Seeded fuzzer (issue 16): mutate valid small models (attributes, shapes, data types,
initializer values, graph wiring, versions) and run ``fpgagen estimate`` on each, then the
golden model on the ones it accepts.

Every case must end in exit 0 or 2 (never 1, 3 or a traceback); a refusal is exactly one
``fpgagen: error:`` line naming the model file, a node or a tensor of the mutated model, and
leaves no report folder; nothing is written outside the report folder; a model with a NaN or
an infinity in a constant that a node uses is never accepted; the golden model of an accepted
model runs (or raises an FpgagenError) and gives finite outputs; every third accepted model is
also built (``--backend rtl``) and verified against the golden model from the command line.

A second fuzzer mutates the JSON files of a real build (dataflow.json read by verify, the
folding file read by build --folding, the manifest read when rebuilding) with the same
assertions, and checks that a file of the user's in the build folder survives every case.

``FPGAGEN_FUZZ_SEED`` (default 16) and ``FPGAGEN_FUZZ_CASES`` (default 240) choose the run;
a failure names the case number, which reproduces alone with ``FPGAGEN_FUZZ_ONLY=<n>``.
"""

from __future__ import annotations

import json
import os
import re
from functools import cache

import numpy as np
import onnx
from fpgagen.errors import FpgagenError
from onnx import TensorProto, helper, numpy_helper

from tests.robustness.helpers import run, snapshot
from tests.support.qonnx_graphs import small_cnn, small_mlp

SEED = int(os.environ.get("FPGAGEN_FUZZ_SEED", "16"))
CASES = int(os.environ.get("FPGAGEN_FUZZ_CASES", "240"))
ONLY = os.environ.get("FPGAGEN_FUZZ_ONLY")


@cache
def _bases() -> tuple[bytes, ...]:
    models = [
        small_mlp(),
        small_mlp(act_bits=2, w_bits=2, hidden=8, seed=1),
        small_mlp(act_bits=1, w_bits=1, hidden=8, in_features=8, out_features=4, seed=2),
        small_cnn("plain", hw=6),
        small_cnn("residual", hw=4),
        small_cnn("depthwise", hw=6),
        small_cnn("avgpool", hw=4),
        small_cnn("maxpool_ceil", hw=5),
    ]
    return tuple(m.SerializeToString() for m in models)


ATTR_NAMES = [
    "axis",
    "perm",
    "kernel_shape",
    "strides",
    "pads",
    "group",
    "dilations",
    "ceil_mode",
    "epsilon",
    "keepdims",
    "transA",
    "transB",
    "signed",
    "narrow",
    "rounding_mode",
    "allowzero",
    "alpha",
    "beta",
]
OPS = [
    "Relu",
    "MatMul",
    "Add",
    "Mul",
    "Conv",
    "MaxPool",
    "Flatten",
    "Transpose",
    "Quant",
    "Sigmoid",
]


def _rand_attr_value(rng):
    k = rng.integers(6)
    if k == 0:
        return int(rng.choice([-3, -1, 0, 1, 2, 3, 7, 1000, 2**31 - 1]))
    if k == 1:
        return float(rng.choice([np.nan, np.inf, -1.5, 0.0, 1e-30, 1e30]))
    if k == 2:
        return str(rng.choice(["", "bogus", "FLOOR", "ROUND", "half_even", "x" * 300]))
    n = int(rng.integers(1, 6))
    return [int(v) for v in rng.choice([-2, 0, 1, 2, 3, 5, 64], n)]


class Mutation:
    """One mutated model and what the mutations did."""

    def __init__(self, m: onnx.ModelProto):
        self.m = m
        self.notes: list[str] = []
        self.nonfinite: set[str] = set()  # initializers given NaN/inf


def _mut_attr(mu: Mutation, rng) -> None:
    nodes = [n for n in mu.m.graph.node if n.attribute]
    if not nodes:
        return
    n = nodes[rng.integers(len(nodes))]
    a = n.attribute[rng.integers(len(n.attribute))]
    if rng.random() < 0.2:
        n.attribute.remove(a)
        mu.notes.append(f"drop attr {n.name}.{a.name}")
        return
    v = _rand_attr_value(rng)
    name = a.name
    n.attribute.remove(a)
    n.attribute.append(helper.make_attribute(name, v))
    mu.notes.append(f"attr {n.name}.{name}={str(v)[:30]}")


def _mut_add_attr(mu: Mutation, rng) -> None:
    n = mu.m.graph.node[rng.integers(len(mu.m.graph.node))]
    name = str(rng.choice(ATTR_NAMES))
    if any(a.name == name for a in n.attribute):
        return
    v = _rand_attr_value(rng)
    n.attribute.append(helper.make_attribute(name, v))
    mu.notes.append(f"add attr {n.name}.{name}={str(v)[:30]}")


def _init(mu, rng):
    inits = mu.m.graph.initializer
    return inits[rng.integers(len(inits))]


def _mut_values(mu: Mutation, rng) -> None:
    t = _init(mu, rng)
    a = numpy_helper.to_array(t).astype(np.float32).copy()
    v = float(rng.choice([np.nan, np.inf, -np.inf, 0.0, 1e38, -1e38, -1.0, 1e-45, 3.5]))
    if a.size and rng.random() < 0.5:
        a.ravel()[rng.integers(a.size)] = v
    else:
        a[...] = v
    t.CopyFrom(numpy_helper.from_array(a, t.name))
    if not np.isfinite(v) and a.size:
        mu.nonfinite.add(t.name)
    mu.notes.append(f"values {t.name}={v}")


def _mut_shape(mu: Mutation, rng) -> None:
    t = _init(mu, rng)
    a = numpy_helper.to_array(t).copy()
    k = rng.integers(5)
    if k == 0 and a.ndim and a.shape[0] > 0:
        a = a[:-1]
    elif k == 1:
        a = a.reshape((1, *a.shape))
    elif k == 2 and a.ndim >= 2:
        a = np.swapaxes(a, 0, 1).copy()
    elif k == 3:
        a = a.reshape(-1)[:1].reshape(()) if a.size else a
    else:
        a = np.zeros((0, *a.shape[1:]), a.dtype)
    t.CopyFrom(numpy_helper.from_array(np.ascontiguousarray(a), t.name))
    mu.notes.append(f"shape {t.name}->{a.shape}")


def _mut_dtype(mu: Mutation, rng) -> None:
    t = _init(mu, rng)
    a = numpy_helper.to_array(t)
    dt = rng.choice([np.float16, np.float64, np.int8, np.int32, np.int64, np.uint8, np.bool_])
    with np.errstate(all="ignore"):
        b = a.astype(dt)
    t.CopyFrom(numpy_helper.from_array(b, t.name))
    mu.notes.append(f"dtype {t.name}->{np.dtype(dt).name}")


def _mut_input(mu: Mutation, rng) -> None:
    vi = mu.m.graph.input[0]
    dims = vi.type.tensor_type.shape.dim
    k = rng.integers(4)
    if k == 0 and len(dims):
        d = dims[rng.integers(len(dims))]
        d.dim_value = int(rng.choice([1, 2, 3, 7, 100, 10**7]))
        mu.notes.append(f"input dim -> {d.dim_value}")
    elif k == 1:
        dims.add().dim_value = 1
        mu.notes.append("input +dim")
    elif k == 2 and len(dims) > 1:
        del dims[-1]
        mu.notes.append("input -dim")
    else:
        et = int(rng.choice([TensorProto.INT8, TensorProto.DOUBLE, TensorProto.BOOL, 0]))
        vi.type.tensor_type.elem_type = et
        mu.notes.append(f"input elem_type {et}")


def _mut_graph(mu: Mutation, rng) -> None:
    g = mu.m.graph
    nodes = list(g.node)
    n = nodes[rng.integers(len(nodes))]
    k = rng.integers(5)
    tensors = [t for x in nodes for t in x.output] + [t.name for t in g.initializer] + ["x"]
    if k == 0:
        g.node.remove(n)
        mu.notes.append(f"delete {n.name}")
    elif k == 1:
        c = g.node.add()
        c.CopyFrom(n)
        c.name = n.name + "_dup"
        mu.notes.append(f"duplicate {n.name}")
    elif k == 2 and n.input:
        i = rng.integers(len(n.input))
        n.input[i] = str(rng.choice(tensors))
        mu.notes.append(f"rewire {n.name}.in{i}={n.input[i]}")
    elif k == 3:
        old = n.op_type
        n.op_type = str(rng.choice(OPS))
        mu.notes.append(f"op {n.name} {old}->{n.op_type}")
    else:
        n.domain = str(rng.choice(["", "qonnx.custom_op.general", "com.example"]))
        mu.notes.append(f"domain {n.name}={n.domain!r}")


def _mut_version(mu: Mutation, rng) -> None:
    if rng.random() < 0.5:
        mu.m.ir_version = int(rng.choice([1, 3, 7, 9, 10, 11, 99]))
        mu.notes.append(f"ir {mu.m.ir_version}")
    else:
        for o in mu.m.opset_import:
            if o.domain == "":
                o.version = int(rng.choice([1, 9, 10, 13, 17, 21, 22, 30]))
                mu.notes.append(f"opset {o.version}")


MUTATORS = [
    (_mut_attr, 4),
    (_mut_add_attr, 2),
    (_mut_values, 4),
    (_mut_shape, 2),
    (_mut_dtype, 2),
    (_mut_input, 2),
    (_mut_graph, 3),
    (_mut_version, 1),
]


def make_case(i: int) -> Mutation:
    """Case ``i`` of the run (independent of every other case)."""
    rng = np.random.default_rng([SEED, i])
    bases = _bases()
    m = onnx.ModelProto()
    m.ParseFromString(bases[rng.integers(len(bases))])
    mu = Mutation(m)
    fns = [f for f, _ in MUTATORS]
    w = np.array([k for _, k in MUTATORS], float)
    for _ in range(int(rng.integers(1, 4))):
        fns[rng.choice(len(fns), p=w / w.sum())](mu, rng)
    return mu


def _used_nonfinite(mu: Mutation) -> list[str]:
    """Injected non-finite initializers that some node still reads."""
    used = {t for n in mu.m.graph.node for t in n.input}
    out = []
    for t in mu.m.graph.initializer:
        if t.name in mu.nonfinite and t.name in used:
            a = numpy_helper.to_array(t)
            if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
                out.append(t.name)
    return out


def _names(m: onnx.ModelProto) -> set[str]:
    s = {n.name for n in m.graph.node if n.name}
    s |= {t for n in m.graph.node for t in [*n.input, *n.output] if t}
    s |= {i.name for i in m.graph.input} | {o.name for o in m.graph.output}
    return s


def _check(i: int, tmp) -> tuple[str | None, int]:
    """Run case ``i``; returns (what went wrong or None, exit code)."""
    mu = make_case(i)
    d = tmp / f"case{i}"
    d.mkdir()
    p = d / "m.onnx"
    p.write_bytes(mu.m.SerializeToString())
    report = d / "rep"
    use_report = i % 4 == 0
    before = snapshot(d)
    args = ["estimate", p, "--board", "zcu104", "--json"] + (
        ["--report", report] if use_report else []
    )
    r = run(args)
    after = snapshot(d)
    what = "; ".join(mu.notes)
    if r.code not in (0, 2):
        return f"exit {r.code}: {r.err.strip()[:300]} [{what}]", r.code
    if "Traceback" in r.err:
        return f"traceback [{what}]", r.code
    written = {k for k in set(after) - set(before) if not k.startswith("rep")}
    if written or any(after.get(k) != v for k, v in before.items()):
        return f"wrote/changed outside the report folder: {sorted(written)} [{what}]", r.code
    if r.code == 2:
        lines = r.err.splitlines()
        if len(lines) != 1 or not lines[0].startswith("fpgagen: error: "):
            return f"not one error line: {r.err!r} [{what}]", 2
        if not (
            str(p) in lines[0]
            or any(re.search(rf"\b{re.escape(n)}\b", lines[0]) for n in _names(mu.m))
        ):
            return f"error names no file, node or tensor: {lines[0]} [{what}]", 2
        if report.exists():
            return f"report folder left after a failure [{what}]", 2
        return None, 2
    bad = [ln for ln in r.err.splitlines() if not ln.startswith("fpgagen: warning: ")]
    if bad:
        return f"stderr on success: {bad[:2]} [{what}]", 0
    nf = _used_nonfinite(mu)
    if nf:
        return f"accepted non-finite constants {nf} [{what}]", 0
    d_json = json.loads(r.out)
    cyc = d_json["expected_cycles_per_frame"]
    if not (isinstance(cyc, int) and cyc >= 1):
        return f"expected cycles {cyc!r} [{what}]", 0
    if use_report and not (report / "report.json").is_file():
        return f"no report.json [{what}]", 0
    return _golden(p, mu, what) or (_build_verify(d, p, what) if i % 3 == 0 else None), 0


def _build_verify(d, p, what: str) -> str | None:
    """``build --backend rtl`` then ``verify`` (golden) on random inputs of an accepted
    model: exit 0, or 2 with one line and no output folder."""
    out = d / "out"
    r = run(["build", p, "--board", "zcu104", "-o", out, "--backend", "rtl"])
    if r.code == 2:
        if len(r.err.splitlines()) != 1 or out.exists():
            return f"build refusal not clean: {r.err!r} [{what}]"
        return None
    if r.code != 0:
        return f"build exit {r.code}: {r.err.strip()[:300]} [{what}]"
    shape = json.loads((out / "dataflow.json").read_text())["input"]["shape"]
    np.save(d / "x.npy", np.random.default_rng(1).uniform(-2, 2, (2, *shape[1:])))
    r = run(["verify", out, "--inputs", d / "x.npy"])
    if r.code != 0 and not (r.code == 2 and len(r.err.splitlines()) == 1):
        return f"verify exit {r.code}: {r.err.strip()[:300]} [{what}]"
    return None


def _golden(p, mu: Mutation, what: str) -> str | None:
    from fpgagen.boards import load_board
    from fpgagen.flow import make_dataflow

    try:
        df = make_dataflow(p, load_board("zcu104"))
        shape = (2, *df.head.input_shape[1:])
        x = np.random.default_rng(0).uniform(-2, 2, shape).astype(np.float32)
        with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
            y = df.golden(x)["y"]
    except FpgagenError:
        return None
    except FloatingPointError as e:
        return f"golden model: floating-point {e} [{what}]"
    except Exception as e:
        return f"golden model: {type(e).__name__}: {e} [{what}]"
    if np.asarray(y).dtype.kind == "f" and not np.all(np.isfinite(y)):
        return f"golden model outputs non-finite values [{what}]"
    return None


def test_fuzz_mutated_models(tmp_path):
    """At least 200 mutated models per run; every one keeps the bad-input contract, and the
    run both accepts and refuses a fair share (the mutations are neither all harmless nor
    all fatal)."""
    idx = [int(ONLY)] if ONLY else range(CASES)
    problems, codes = [], []
    for i in idx:
        err, code = _check(i, tmp_path)
        codes.append(code)
        if err:
            problems.append(f"case {i}: {err}")
    assert not problems, f"{len(problems)} of {len(codes)} cases:\n" + "\n".join(problems)
    if not ONLY:
        assert len(codes) >= 200
        ok, refused = codes.count(0), codes.count(2)
        assert ok >= len(codes) // 10 and refused >= len(codes) // 3, (ok, refused)


# ------------------------------------------------------------------ the files of a build
_JUNK = [None, True, -1, 0, 7, 2**40, 1.5, float("nan"), "", "x", [], [1, "a"], {}, {"k": 1}]


def _paths(obj, prefix=()):
    """Every JSON path (tuple of keys/indices) in ``obj``."""
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj[:4]):
            yield from _paths(v, (*prefix, i))


def _set(obj, path, value):
    if not path:
        return value
    cur = obj
    for k in path[:-1]:
        cur = cur[k]
    if value is _DELETE:
        del cur[path[-1]]
    else:
        cur[path[-1]] = value
    return obj


_DELETE = object()


def test_fuzz_build_files(tmp_path):
    """45 mutated dataflow.json, folding.json and fpgagen-manifest.json of a real build: verify,
    build --folding and rebuilding end in exit 0 or 2 with one line, never lose a file of
    the user's and never leave a temporary folder."""
    import shutil

    model = tmp_path / "m.onnx"
    onnx.save(small_mlp(), model)
    base = tmp_path / "base"
    assert run(["build", model, "--board", "zcu104", "-o", base, "--backend", "rtl"]).code == 0
    x = tmp_path / "x.npy"
    np.save(x, np.random.default_rng(0).uniform(-2, 2, (2, 16)).astype(np.float32))
    problems, n, codes = [], 0, []
    for i in range(45):
        rng = np.random.default_rng([SEED, 1000 + i])
        which = ["dataflow.json", "folding.json", "fpgagen-manifest.json"][i % 3]
        d = tmp_path / f"b{i}"
        shutil.copytree(base, d, symlinks=True)
        (d / "notes.txt").write_text("mine")
        doc = json.loads((d / which).read_text())
        paths = list(_paths(doc))
        path = paths[rng.integers(len(paths))]
        value = _DELETE if path and rng.random() < 0.25 else _JUNK[rng.integers(len(_JUNK))]
        doc = _set(doc, path, value)
        (d / which).write_text(json.dumps(doc))
        what = f"{which} {list(path)} = {'<deleted>' if value is _DELETE else value!r}"
        if which == "dataflow.json":
            args = ["verify", d, "--inputs", x]
        elif which == "folding.json":
            args = ["build", model, "--board", "zcu104", "-o", tmp_path / f"o{i}", "--folding"]
            args += [d / "folding.json", "--backend", "rtl"]
        else:
            args = ["build", model, "--board", "zcu104", "-o", d, "--backend", "rtl"]
        before = snapshot(tmp_path)
        r = run(args)
        n += 1
        codes.append(r.code)
        lines = r.err.splitlines()
        if r.code not in (0, 2) or (r.code == 2 and len(lines) != 1):
            problems.append(f"case {i}: exit {r.code}: {r.err.strip()[:200]} [{what}]")
            continue
        after = snapshot(tmp_path)
        if (d / "notes.txt").read_text() != "mine":
            problems.append(f"case {i}: notes.txt lost [{what}]")
        hidden = [k for k in after if os.path.basename(k).startswith(".") and k not in before]
        if hidden:
            problems.append(f"case {i}: temporary folder left: {hidden} [{what}]")
        if r.code == 2 and set(after) != set(before):
            problems.append(f"case {i}: files changed after a failure [{what}]")
        shutil.rmtree(d)
    assert not problems, f"{len(problems)} of {n}:\n" + "\n".join(problems)
    assert codes.count(2) >= 8 and codes.count(0) >= 4, (codes.count(0), codes.count(2))

"""Bad-input corpus (issue 16): every case is a malformed, unusual or hostile input built in
memory from a small valid model, in five classes:

* ``loss``     -- output folders: nothing fpgagen did not write is ever deleted;
* ``accept``   -- wrong input that used to be accepted silently (exit 0) is refused;
* ``internal`` -- user mistakes that used to end in an internal error (exit 3);
* ``message``  -- the one-line error names the node, tensor, file or option;
* ``board``    -- builds made with a board file can be verified; bad board files.

Failing cases assert: the exit code, exactly one ``fpgagen: error:`` line on stderr naming the
culprit, and that the sandbox (working folder, home folder, inputs, earlier builds) is
byte-for-byte unchanged: no output folder, no temporary folder, no lost or modified file.
Succeeding cases assert what must have been kept and that nothing changed outside the output
folder.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from tests.robustness.helpers import assert_clean_error, assert_unchanged, run, snapshot
from tests.support.qonnx_graphs import small_cnn, small_mlp

ROOT = Path(__file__).resolve().parents[2]
BOARD_YAML = (ROOT / "boards" / "zcu104.yaml").read_text()
CLASSES = ("loss", "accept", "internal", "message", "board")


class Work:
    """A sandbox: ``root/work`` (the working folder) with ``m.onnx`` (small MLP), ``x.npy``
    (a valid batch) and ``root/home`` (the home folder)."""

    def __init__(self, root: Path):
        self.root = root
        self.dir = root / "work"
        self.home = root / "home"
        self.dir.mkdir()
        self.home.mkdir()
        self.model = self.dir / "m.onnx"
        onnx.save(small_mlp(), self.model)
        self.x = self.save_npy("x.npy", np.random.default_rng(0).uniform(-2, 2, (3, 16)))

    def p(self, name: str) -> Path:
        return self.dir / name

    def save_npy(self, name, arr) -> Path:
        np.save(self.p(name), np.asarray(arr) if not isinstance(arr, np.ndarray) else arr)
        return self.p(name)

    def save_model(self, m: onnx.ModelProto, name="bad.onnx") -> Path:
        p = self.p(name)
        p.write_bytes(m.SerializeToString())
        return p

    def board(self, name="my_board.yaml", **repl) -> Path:
        text = BOARD_YAML
        for a, b in repl.items():
            text = text.replace(a.replace("__", " "), b)
        self.p(name).write_text(text)
        return self.p(name)

    def build(self, out="out", *extra, model=None) -> Path:
        r = run(["build", model or self.model, "--board", "zcu104", "-o", self.p(out), *extra])
        assert r.code == 0, r.err
        return self.p(out)


@dataclass
class Case:
    cls: str
    name: str
    setup: object  # Work -> (args, cwd or None)
    code: int = 2
    culprit: str | None = None
    check: object = None  # (Work, before, after, Result) for exit-0 cases
    xfail: str | None = None


CASES: list[Case] = []


def case(cls, name, code=2, culprit=None, xfail=None):
    def deco(fn):
        CASES.append(Case(cls, name, fn, code, culprit, None, xfail))
        return fn

    return deco


def ok_case(cls, name, check):
    def deco(fn):
        CASES.append(Case(cls, name, fn, 0, None, check))
        return fn

    return deco


# ---------------------------------------------------------------- model mutations
def mlp(**kw) -> onnx.ModelProto:
    return small_mlp(**kw)


def node(m, name):
    return next(n for n in m.graph.node if n.name == name)


def init(m, name):
    return next(t for t in m.graph.initializer if t.name == name)


def set_init(m, name, arr):
    t = init(m, name)
    t.CopyFrom(numpy_helper.from_array(np.asarray(arr), name))


def set_attr(n, key, value):
    for a in list(n.attribute):
        if a.name == key:
            n.attribute.remove(a)
    n.attribute.append(helper.make_attribute(key, value))


def with_init(fn):
    """A model variant: fn(m) mutates the small MLP."""

    def make():
        m = mlp()
        fn(m)
        return m

    return make


def build_args(w, model, out="out", *extra):
    return ["build", model, "--board", "zcu104", "-o", w.p(out), *extra]


def estimate_args(model, *extra):
    return ["estimate", model, "--board", "zcu104", *extra]


# ================================================================ class: loss
@case("loss", "o_dot_inside_build", culprit=r"-o \.: is the current folder")
def _(w):
    out = w.build()
    (out / "notes.txt").write_text("mine")
    return ["build", w.model, "--board", "zcu104", "-o", "."], out


@case("loss", "o_dotdot_from_build_subfolder", culprit=r"-o \.\.: is a parent of the current")
def _(w):
    out = w.build()
    (out / "sub").mkdir()
    return ["build", w.model, "--board", "zcu104", "-o", ".."], out / "sub"


@case("loss", "o_dot_in_empty_folder", culprit=r"-o \.: is the current folder")
def _(w):
    w.p("empty").mkdir()
    return ["build", w.model, "--board", "zcu104", "-o", "."], w.p("empty")


@case("loss", "o_root", culprit=r"-o /: is the root folder")
def _(w):
    return build_args(w, w.model)[:-1] + ["/"], None


@case("loss", "o_home", culprit=r"is your home folder")
def _(w):
    return build_args(w, w.model)[:-1] + [w.home], None


@case("loss", "o_parent_of_cwd_absolute", culprit=r"is a parent of the current folder")
def _(w):
    w.p("deep/er").mkdir(parents=True)
    return build_args(w, w.model)[:-1] + [w.dir], w.p("deep/er")


@case("loss", "o_contains_model", culprit=r"contains the input file")
def _(w):
    w.p("models").mkdir()
    m = w.p("models/m.onnx")
    m.write_bytes(w.model.read_bytes())
    return build_args(w, m, "models"), None


@case("loss", "o_is_model_file", culprit=r"is the input file")
def _(w):
    return build_args(w, w.model, "m.onnx"), None


@case("loss", "o_contains_folding_file", culprit=r"contains the input file .*fold\.json")
def _(w):
    out = w.build()
    (out / "fold.json").write_text((out / "folding.json").read_text())
    return build_args(w, w.model, "out", "--folding", out / "fold.json"), None


@case("loss", "o_nonempty_foreign_folder", culprit=r"is not an fpgagen build folder")
def _(w):
    w.p("photos").mkdir()
    w.p("photos/cat.jpg").write_bytes(b"\xff\xd8 not really")
    return build_args(w, w.model, "photos"), None


@case("loss", "o_legacy_build_without_manifest", culprit=r"older fpgagen without a file manifest")
def _(w):
    out = w.build()
    (out / "fpgagen-manifest.json").unlink()
    return build_args(w, w.model), None


@case("loss", "o_damaged_manifest", culprit=r"fpgagen-manifest\.json is damaged")
def _(w):
    out = w.build()
    (out / "fpgagen-manifest.json").write_text("{not json")
    return build_args(w, w.model), None


@case("loss", "o_forged_manifest_escapes", culprit=r"fpgagen-manifest\.json is damaged")
def _(w):
    out = w.build()
    w.p("victim.txt").write_text("precious")
    m = json.loads((out / "fpgagen-manifest.json").read_text())
    m["files"]["../victim.txt"] = {"size": 8, "sha256": "0" * 64}
    (out / "fpgagen-manifest.json").write_text(json.dumps(m))
    return build_args(w, w.model), None


@case("loss", "o_edited_generated_file", culprit=r"m_top\.v: was changed after the build")
def _(w):
    out = w.build()
    with open(out / "rtl" / "m_top.v", "a") as f:
        f.write("// my fix\n")
    return build_args(w, w.model), None


@case("loss", "o_user_file_where_build_writes", culprit=r"hls: is a folder of yours|hls/")
def _(w):
    out = w.build("out", "--backend", "rtl")
    (out / "hls").mkdir()
    (out / "hls" / "Makefile").write_text("my makefile\n")
    return build_args(w, w.model, "out", "--backend", "both"), None


@case("loss", "o_symlink", culprit=r"is a symbolic link")
def _(w):
    w.p("real").mkdir()
    os.symlink(w.p("real"), w.p("link"))
    return build_args(w, w.model, "link"), None


@case("loss", "o_under_a_file", culprit=r"m\.onnx is a file, so no folder can be created")
def _(w):
    return build_args(w, w.model, "m.onnx/sub/out"), None


@case("loss", "failed_rebuild_keeps_old_build", culprit=r"not an ONNX model")
def _(w):
    out = w.build()
    (out / "notes.txt").write_text("mine")
    w.p("bad.onnx").write_bytes(b"garbage")
    return build_args(w, w.p("bad.onnx")), None


@case("loss", "unreachable_rebuild_keeps_old_build", culprit=r"cannot be reached")
def _(w):
    w.build()
    return build_args(w, w.model, "out", "--fps", "1e15"), None


def _kept_user_files(w, before, after, r):
    out = "work/out"
    assert after[f"{out}/notes.txt"] == before[f"{out}/notes.txt"]
    assert after[f"{out}/deploy/top.bit"] == before[f"{out}/deploy/top.bit"]
    assert f"{out}/empty_dir_of_mine" in after
    assert after[f"{out}/sim/run_rtl/obj.txt"] == before[f"{out}/sim/run_rtl/obj.txt"]
    man = json.loads((w.p("out") / "fpgagen-manifest.json").read_text())
    assert "notes.txt" not in man["files"] and "dataflow.json" in man["files"]
    assert json.loads((w.p("out") / "dataflow.json").read_text())["backends"] == ["rtl"]
    assert not (w.p("out") / "hls").exists()  # the old build's own files are gone
    assert "kept 3 file(s) of yours" in r.out


@ok_case("loss", "rebuild_keeps_user_files", _kept_user_files)
def _(w):
    out = w.build()
    (out / "notes.txt").write_text("mine")
    (out / "deploy").mkdir(exist_ok=True)  # a vendor run adds its bitstream
    (out / "deploy" / "top.bit").write_bytes(b"\x00bitstream")
    (out / "empty_dir_of_mine").mkdir()
    (out / "sim" / "run_rtl").mkdir()
    (out / "sim" / "run_rtl" / "obj.txt").write_text("verilator output")
    return build_args(w, w.model, "out", "--backend", "rtl"), None


# ================================================================ class: accept
def _bad_model_case(cls, name, culprit, make, cmd="estimate", xfail=None):
    @case(cls, name, culprit=culprit, xfail=xfail)
    def _(w):
        p = w.save_model(make())
        return (estimate_args(p) if cmd == "estimate" else build_args(w, p)), None


_bad_model_case(
    "accept",
    "bn_variance_nan",
    r"BatchNormalization_15.*'c14'.*non-finite",
    with_init(lambda m: set_init(m, "c14", np.full(12, np.nan, np.float32))),
    cmd="build",
)
_bad_model_case(
    "accept",
    "bn_variance_negative",
    r"BatchNormalization_15.*variance 'c14' is -0\.5 for channel 3",
    with_init(
        lambda m: set_init(m, "c14", np.where(np.arange(12) == 3, -0.5, 1.0).astype(np.float32))
    ),
    cmd="build",
)
_bad_model_case(
    "accept",
    "bn_mean_inf",
    r"BatchNormalization_15.*'c13'.*non-finite",
    with_init(lambda m: set_init(m, "c13", np.full(12, np.inf, np.float32))),
)
_bad_model_case(
    "accept",
    "weight_nan",
    r"Quant_9.*'c5'.*non-finite.*index \(2, 3\)",
    with_init(
        lambda m: set_init(
            m,
            "c5",
            np.where(np.arange(16 * 12).reshape(16, 12) == 27, np.nan, 0.5).astype(np.float32),
        )
    ),
)
_bad_model_case(
    "accept",
    "quant_scale_zero",
    r"Quant_9.*scale 'c6' has a zero value",
    with_init(lambda m: set_init(m, "c6", np.float32(0))),
)
_bad_model_case(
    "accept",
    "quant_scale_inf",
    r"Quant_4.*'c1'.*non-finite",
    with_init(lambda m: set_init(m, "c1", np.float32(np.inf))),
)
_bad_model_case(
    "accept",
    "output_scale_nan",
    r"Mul_28.*'c27'.*non-finite",
    with_init(lambda m: set_init(m, "c27", np.float32(np.nan))),
)


def _opset(v):
    def make():
        m = mlp()
        for o in m.opset_import:
            if o.domain == "":
                o.version = v
        return m

    return make


def _ir(v):
    def make():
        m = mlp()
        m.ir_version = v
        return m

    return make


_bad_model_case("accept", "opset_too_new", r"ONNX opset 99 is not supported.*10\.\.21", _opset(99))
_bad_model_case("accept", "opset_too_old", r"ONNX opset 7 is not supported", _opset(7))
_bad_model_case("accept", "ir_version_too_new", r"IR version 99 is not supported", _ir(99))
_bad_model_case("accept", "ir_version_too_old", r"IR version 2 is not supported", _ir(2))


def _no_default_opset():
    m = mlp()
    keep = [o for o in m.opset_import if o.domain != ""]
    del m.opset_import[:]
    m.opset_import.extend(keep)
    return m


_bad_model_case("accept", "no_default_opset", r"imports no default ONNX opset", _no_default_opset)


@case("accept", "fps_unreachable_1e30", culprit=r"1e\+30 fps .*cannot be reached.*at most \d+ fps")
def _(w):
    return estimate_args(w.model, "--fps", "1e30"), None


@case("accept", "fps_unreachable_simple_strategy", culprit=r"cannot be reached.*bound by layer")
def _(w):
    return estimate_args(w.model, "--fps", "1e12", "--fold-strategy", "simple"), None


@case("accept", "fps_inf", culprit=r"argument --fps: 'inf' is not a finite number")
def _(w):
    return estimate_args(w.model, "--fps", "inf"), None


@case("accept", "verify_nan_inputs", culprit=r"--inputs .*nan\.npy: 5 value\(s\) are not finite")
def _(w):
    w.build()
    x = np.random.default_rng(1).uniform(-1, 1, (2, 16)).astype(np.float32)
    x.ravel()[[1, 3, 5, 7, 9]] = np.nan
    return ["verify", w.p("out"), "--inputs", w.save_npy("nan.npy", x)], None


@case("accept", "verify_inf_inputs", culprit=r"inf\.npy: 1 value\(s\) are not finite")
def _(w):
    w.build()
    x = np.zeros((2, 16), np.float32)
    x[1, 2] = -np.inf
    return ["verify", w.p("out"), "--inputs", w.save_npy("inf.npy", x)], None


@case("accept", "verify_complex_inputs", culprit=r"c\.npy: has dtype complex128 \(complex\)")
def _(w):
    w.build()
    return ["verify", w.p("out"), "--inputs", w.save_npy("c.npy", np.ones((2, 16)) * 1j)], None


@case("accept", "verify_nan_outputs", culprit=r"--outputs .*y\.npy: .* not finite")
def _(w):
    w.build()
    return [
        "verify",
        w.p("out"),
        "--inputs",
        w.x,
        "--outputs",
        w.save_npy("y.npy", np.full((3, 5), np.nan, np.float32)),
    ], None


@case("accept", "scale_clock_nan", culprit=r"argument --clock-mhz: 'nan' is not a finite number")
def _(w):
    return ["scale", w.model, "--boards", "zcu104", "--clock-mhz", "nan"], None


@case("accept", "scale_clock_negative", culprit=r"argument --clock-mhz: '-100' is out of range")
def _(w):
    return ["scale", w.model, "--boards", "zcu104", "--clock-mhz", "-100"], None


@case("accept", "scale_clock_absurd", culprit=r"--clock-mhz 1e\+09 .*zcu104.*300")
def _(w):
    return ["scale", w.model, "--boards", "zcu104,ultra96", "--clock-mhz", "1e9"], None


@case(
    "accept",
    "board_infinite_clock",
    culprit=r"my_board\.yaml.*(max_mhz|default_mhz)",
)
def _(w):
    b = w.board(**{"max_mhz: 300": "max_mhz: .inf"})
    return build_args(w, w.model)[:3] + [b, "-o", w.p("out")], None


@case("accept", "board_zero_luts", culprit=r"my_board\.yaml.*lut")
def _(w):
    b = w.board(**{"lut: 230400": "lut: 0"})
    return ["scale", w.model, "--boards", b], None


# ================================================================ class: internal
def _conv_kernel_too_big():
    m = small_cnn(hw=8)
    c = node(m, "Conv_27")  # input 4x4 after the max pool
    w = init(m, "c22")
    arr = numpy_helper.to_array(w)
    set_init(m, "c22", np.zeros(arr.shape[:2] + (7, 7), np.float32))
    set_attr(c, "kernel_shape", [7, 7])
    return m


_bad_model_case(
    "internal",
    "kernel_larger_than_input",
    r"Conv_27.*(empty|cannot be inferred)",
    _conv_kernel_too_big,
)
_bad_model_case(
    "internal",
    "zero_size_weights",
    r"Quant_9|MatMul_10",
    with_init(lambda m: set_init(m, "c5", np.zeros((16, 0), np.float32))),
)


def _output_unproduced():
    m = mlp()
    m.graph.output[0].name = "nobody"
    return m


_bad_model_case(
    "internal",
    "graph_output_unproduced",
    r"graph output 'nobody' is produced by no node",
    _output_unproduced,
)


def _long_node_name():
    m = mlp()
    n = node(m, "MatMul_10")
    n.name = "L" * 300
    return m


@case(
    "internal",
    "node_name_too_long_for_fs",
    culprit=r"LLLL\.\.\.\(3\d\d characters\).*shorten the node names",
)
def _(w):
    return build_args(w, w.save_model(_long_node_name())), None


@case("internal", "o_name_too_long", culprit=r"ooo\.\.\.\(300 characters\): file name too long")
def _(w):
    return build_args(w, w.model, "o" * 300), None


def _output_constant():
    m = mlp()
    node(m, "Relu_16").input[0] = "c5"  # the tail now folds to a constant
    return m


_bad_model_case(
    "internal",
    "output_folds_to_constant",
    r"graph output 't28' is a constant.*no network to build",
    _output_constant,
)


def _dead_branch_ok(w, before, after, r):
    assert json.loads(r.out)["expected_cycles_per_frame"] >= 1


@ok_case("internal", "dead_branch_is_dropped", _dead_branch_ok)
def _(w):
    m = mlp()
    m.graph.node.append(helper.make_node("Relu", ["t15"], ["unused"], name="Relu_dead"))
    return estimate_args(w.save_model(m), "--json"), None


@case("internal", "fps_nan", culprit=r"argument --fps: 'nan' is not a finite number")
def _(w):
    return estimate_args(w.model, "--fps", "nan"), None


@case("internal", "verify_text_inputs", culprit=r"s\.npy: has dtype <U1 \(text\)")
def _(w):
    w.build()
    return ["verify", w.p("out"), "--inputs", w.save_npy("s.npy", np.array([["a"] * 16]))], None


@case("internal", "verify_empty_inputs", culprit=r"e\.npy: is empty \(shape \(0, 16\)\)")
def _(w):
    w.build()
    return ["verify", w.p("out"), "--inputs", w.save_npy("e.npy", np.zeros((0, 16)))], None


@case("internal", "verify_scalar_inputs", culprit=r"z\.npy: is empty \(shape \(\)\)")
def _(w):
    w.build()
    return ["verify", w.p("out"), "--inputs", w.save_npy("z.npy", np.float32(1))], None


@case("internal", "verify_object_inputs", culprit=r"o\.npy: not a \.npy array file")
def _(w):
    w.build()
    np.save(w.p("o.npy"), np.array([{"a": 1}], dtype=object), allow_pickle=True)
    return ["verify", w.p("out"), "--inputs", w.p("o.npy")], None


@case("internal", "verify_npz_inputs", culprit=r"x\.npz: holds several arrays")
def _(w):
    w.build()
    np.savez(w.p("x.npz"), a=np.zeros((2, 16)))
    return ["verify", w.p("out"), "--inputs", w.p("x.npz")], None


@case("internal", "verify_wrong_shape", culprit=r"w\.npy: input batch has shape \(2, 7\)")
def _(w):
    w.build()
    return ["verify", w.p("out"), "--inputs", w.save_npy("w.npy", np.zeros((2, 7)))], None


@case("internal", "dataflow_json_corrupt", culprit=r"dataflow\.json: cannot be read")
def _(w):
    out = w.build()
    (out / "dataflow.json").write_text('{"name": "m", ')
    return ["verify", out, "--inputs", w.x], None


@case("internal", "dataflow_json_missing_folding", culprit=r"dataflow\.json: 'folding' must be")
def _(w):
    out = w.build()
    d = json.loads((out / "dataflow.json").read_text())
    del d["folding"]
    (out / "dataflow.json").write_text(json.dumps(d))
    return ["verify", out, "--inputs", w.x], None


@case("internal", "dataflow_json_wrong_types", culprit=r"dataflow\.json: 'folding' must be")
def _(w):
    out = w.build()
    d = json.loads((out / "dataflow.json").read_text())
    d["folding"] = {"layers": {"MatMul_10": {"PE": "many"}}}
    (out / "dataflow.json").write_text(json.dumps(d))
    return ["verify", out, "--inputs", w.x], None


@case("internal", "dataflow_json_is_a_list", culprit=r"dataflow\.json: .* must be a JSON object")
def _(w):
    out = w.build()
    (out / "dataflow.json").write_text("[1, 2]")
    return ["verify", out, "--inputs", w.x], None


@case("internal", "build_model_missing", culprit=r"model\.onnx: missing from the build folder")
def _(w):
    out = w.build()
    (out / "model.onnx").unlink()
    return ["verify", out, "--inputs", w.x], None


@case("internal", "folding_values_not_int", culprit=r"f\.json")
def _(w):
    w.p("f.json").write_text(json.dumps({"layers": {"MatMul_10": {"PE": "x", "SIMD": 1}}}))
    return build_args(w, w.model, "out", "--folding", w.p("f.json")), None


@case("internal", "huge_input_shape", culprit=r"graph input 'x' has shape")
def _(w):
    m = mlp()
    m.graph.input[0].type.tensor_type.shape.dim[1].dim_value = 10**12
    return estimate_args(w.save_model(m)), None


@case("internal", "target_cycles_zero", culprit=r"argument --target-cycles: '0' is out of range")
def _(w):
    return estimate_args(w.model, "--target-cycles", "0"), None


# ================================================================ class: message
def _cycle():
    m = mlp()
    # MatMul_10 now reads the output of Relu_16, which depends on MatMul_10
    node(m, "MatMul_10").input[0] = "t16"
    return m


_bad_model_case("message", "graph_cycle", r"cycle: .*'MatMul_10'.*tensor 't16'", _cycle)


def _dup_output():
    m = mlp()
    node(m, "Relu_16").output[0] = "t15"
    return m


_bad_model_case(
    "message",
    "duplicate_output",
    r"tensor 't15' is produced by both node 'BatchNormalization_15' and node 'Relu_16'",
    _dup_output,
)


def _undefined():
    m = mlp()
    node(m, "Relu_16").input[0] = "t_nowhere"
    return m


_bad_model_case(
    "message", "undefined_tensor", r"node 'Relu_16' \(op Relu\) uses tensor 't_nowhere'", _undefined
)


def _rounding():
    m = mlp()
    set_attr(node(m, "Quant_20"), "rounding_mode", "STOCHASTIC")
    return m


_bad_model_case(
    "message", "unknown_rounding_mode", r"Quant_20.*unknown rounding_mode 'STOCHASTIC'", _rounding
)


def _shape_mismatch():
    m = mlp()
    set_init(m, "c21", np.zeros((7, 5), np.float32))  # 12 hidden units, weights for 7
    return m


_bad_model_case(
    "message",
    "shape_inference_names_node",
    r"MatMul_26.*shapes cannot be inferred",
    _shape_mismatch,
)


def _dup_node_name():
    m = mlp()
    node(m, "Relu_16").name = "MatMul_10"
    return m


_bad_model_case(
    "message", "duplicate_node_name", r"node name 'MatMul_10' is used by nodes", _dup_node_name
)


@case("message", "missing_external_data", culprit=r"external data file 'weights\.bin'.*missing")
def _(w):
    m = mlp()
    onnx.save(
        m,
        w.p("ext.onnx"),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location="weights.bin",
        size_threshold=0,
    )
    w.p("weights.bin").unlink()
    return estimate_args(w.p("ext.onnx")), None


@case("message", "argparse_missing_board", culprit=r"^fpgagen: error: build: .*--board")
def _(w):
    return ["build", w.model, "-o", w.p("out")], None


@case("message", "argparse_unknown_command", culprit=r"^fpgagen: error: .*invalid choice")
def _(w):
    return ["bulid", w.model], None


@case("message", "argparse_bad_max_util", culprit=r"^fpgagen: error: estimate: .*--max-util")
def _(w):
    return estimate_args(w.model, "--max-util", "lots"), None


@case("message", "no_runtime_warning_on_stderr", culprit=r"Mul_28.*'c27div'.*non-finite")
def _(w):
    m = mlp()  # the output scale is folded from 1 / 0: numpy warns, then fpgagen refuses
    m.graph.initializer.extend(
        [numpy_helper.from_array(np.float32(v), n) for n, v in (("one", 1), ("zero", 0))]
    )
    m.graph.node.insert(0, helper.make_node("Div", ["one", "zero"], ["c27div"], name="Div_0"))
    node(m, "Mul_28").input[1] = "c27div"
    return estimate_args(w.save_model(m)), None


@case("message", "folding_not_dividing_names_file", culprit=r"f\.json.*MatMul_10|f\.json.*PE")
def _(w):
    w.p("f.json").write_text(json.dumps({"layers": {"MatMul_10": {"PE": 5, "SIMD": 1}}}))
    return build_args(w, w.model, "out", "--folding", w.p("f.json")), None


@case("message", "folding_bad_json_names_file", culprit=r"f\.json: not a valid folding JSON")
def _(w):
    w.p("f.json").write_text("{PE: 2}")
    return build_args(w, w.model, "out", "--folding", w.p("f.json")), None


@case("message", "folding_unknown_param_names_file", culprit=r"f\.json: layer MatMul_10 .*'DEPTH'")
def _(w):
    w.p("f.json").write_text(json.dumps({"MatMul_10": {"DEPTH": 2}}))
    return build_args(w, w.model, "out", "--folding", w.p("f.json")), None


@case("message", "string_initializer", culprit=r"tensor 'c27' has data type")
def _(w):
    m = mlp()
    t = init(m, "c27")
    t.CopyFrom(helper.make_tensor("c27", TensorProto.STRING, [], [b"0.75"]))
    return estimate_args(w.save_model(m)), None


@case("message", "string_graph_input", culprit=r"graph input 'x' has type STRING")
def _(w):
    m = mlp()
    m.graph.input[0].type.tensor_type.elem_type = TensorProto.STRING
    return estimate_args(w.save_model(m)), None


# ------------------------------------------------ fpgagen run, verify --save-outputs, reports
def run_args(w, inputs, *extra):
    return ["run", w.p("out") / "deploy", "--inputs", inputs, "--device", "golden", *extra]


@case("accept", "run_nan_inputs", culprit=r"--inputs .*nan\.npy: 2 value\(s\) are not finite")
def _(w):
    w.build()
    x = np.zeros((2, 16), np.float32)
    x[0, :2] = np.nan
    return run_args(w, w.save_npy("nan.npy", x)), None


@case("accept", "run_complex_inputs", culprit=r"c\.npy: has dtype complex128")
def _(w):
    w.build()
    return run_args(w, w.save_npy("c.npy", np.ones((2, 16)) * (1 + 1j))), None


@case("accept", "run_empty_inputs", culprit=r"e\.npy: is empty")
def _(w):
    w.build()
    return run_args(w, w.save_npy("e.npy", np.zeros((0, 16), np.float32))), None


@case("internal", "run_text_inputs", culprit=r"s\.npy: has dtype <U1 \(text\)")
def _(w):
    w.build()
    return run_args(w, w.save_npy("s.npy", np.array([["a"] * 16]))), None


@case("internal", "run_throughput_zero", culprit=r"run: argument --throughput: '0' is out of range")
def _(w):
    w.build()
    return run_args(w, w.x, "--throughput", "0"), None


@case("loss", "run_output_is_the_inputs", culprit=r"-o .*x\.npy: is the input file")
def _(w):
    w.build()
    return run_args(w, w.x, "-o", w.x), None


@case("loss", "run_output_under_a_file", culprit=r"-o .*m\.onnx is a file, not a folder")
def _(w):
    w.build()
    return run_args(w, w.x, "-o", w.p("m.onnx/y.npy")), None


@case("loss", "verify_save_outputs_is_the_inputs", culprit=r"--save-outputs .*x\.npy: is the input")
def _(w):
    w.build()
    return ["verify", w.p("out"), "--inputs", w.x, "--save-outputs", w.x], None


@case("message", "run_deploy_design_json_damaged", culprit=r"design\.json: not valid JSON")
def _(w):
    out = w.build()
    (out / "deploy" / "design.json").write_text("{")
    return run_args(w, w.x), None


@case("loss", "estimate_report_into_cwd", culprit=r"--report \.: is the current folder")
def _(w):
    (w.dir / "report.json").write_text('{"mine": 1}')
    return estimate_args(w.model, "--report", "."), w.dir


@case("loss", "estimate_report_into_user_folder", culprit=r"--report .*docs: exists, is not empty")
def _(w):
    w.p("docs").mkdir()
    (w.p("docs") / "report.html").write_text("my own report")
    return estimate_args(w.model, "--report", w.p("docs")), None


@case("loss", "estimate_report_over_a_build", culprit=r"holds an fpgagen build, which the estimate")
def _(w):
    w.build()
    return estimate_args(w.model, "--report", w.p("out")), None


@case(
    "loss", "build_over_a_scale_report", culprit=r"holds an fpgagen scale report, which the build"
)
def _(w):
    assert run(["scale", w.model, "--boards", "zcu104", "-o", w.p("sc")]).code == 0
    return build_args(w, w.model, "sc"), None


@case("loss", "scale_output_contains_model", culprit=r"-o .*work: .*(parent|contains the input)")
def _(w):
    return ["scale", w.model, "--boards", "zcu104", "-o", w.dir], w.dir / ".."


# ================================================================ class: board
def _verify_ok(w, before, after, r):
    assert "PASS" in r.out, r.out


def _board_build(w, board_arg, out="out"):
    r = run(["build", w.model, "--board", board_arg, "-o", w.p(out)])
    assert r.code == 0, r.err
    return w.p(out)


@ok_case("board", "verify_after_board_file_deleted", _verify_ok)
def _(w):
    b = w.board(**{"name: zcu104": "name: my_board"})
    out = _board_build(w, b)
    b.unlink()
    assert json.loads((out / "dataflow.json").read_text())["board"] == "my_board"
    return ["verify", out, "--inputs", w.x], None


@ok_case("board", "verify_after_board_file_edited", _verify_ok)
def _(w):
    b = w.board(**{"name: zcu104": "name: my_board"})
    out = _board_build(w, b)
    b.write_text("not: [a, board")
    return ["verify", out, "--inputs", w.x], None


@ok_case("board", "verify_from_another_folder", _verify_ok)
def _(w):
    w.board("boards_my.yml", **{"name: zcu104": "name: my_yml"})
    (w.dir / "elsewhere").mkdir()
    r = run(["build", "../m.onnx", "--board", "../boards_my.yml", "-o", "o2"], w.dir / "elsewhere")
    assert r.code == 0, r.err
    return ["verify", w.dir / "elsewhere" / "o2", "--inputs", w.x], None


@ok_case("board", "verify_board_named_like_bundled_one", _verify_ok)
def _(w):
    b = w.board("zcu104_small.yaml", **{"lut: 230400": "lut: 100000"})
    out = _board_build(w, b)
    recorded = (out / "board.yaml").read_text()
    assert "lut: 100000" in recorded
    d = json.loads((out / "dataflow.json").read_text())
    assert d["board_file"] == "board.yaml"
    return ["verify", out, "--inputs", w.x], None


@case("board", "verify_board_copy_missing", culprit=r"board\.yaml: the board file of this build")
def _(w):
    out = _board_build(w, w.board())
    (out / "board.yaml").unlink()
    return ["verify", out, "--inputs", w.x], None


@case("board", "verify_board_copy_damaged", culprit=r"board\.yaml: cannot read board file")
def _(w):
    out = _board_build(w, w.board())
    (out / "board.yaml").write_text("a: [b")
    return ["verify", out, "--inputs", w.x], None


@case("board", "board_file_missing_key", culprit=r"my_board\.yaml: missing key 'part'")
def _(w):
    b = w.board(**{"part: ": "prt: "})
    return build_args(w, w.model)[:3] + [b, "-o", w.p("out")], None


@case("board", "board_file_not_yaml", culprit=r"my_board\.yaml: cannot read board file")
def _(w):
    w.p("my_board.yaml").write_text("resources: [unclosed")
    return build_args(w, w.model)[:3] + [w.p("my_board.yaml"), "-o", w.p("out")], None


@case("board", "board_file_negative_resource", culprit=r"resources\.dsp must be >= 0")
def _(w):
    b = w.board(**{"dsp: 1728": "dsp: -5"})
    return estimate_args(w.model)[:3] + [b], None


@case("board", "board_file_default_above_max", culprit=r"default_mhz must be in \(0, max_mhz\]")
def _(w):
    b = w.board(**{"default_mhz: 200": "default_mhz: 900"})
    return estimate_args(w.model)[:3] + [b], None


@case("board", "board_file_nan_clock", culprit=r"my_board\.yaml.*default_mhz")
def _(w):
    b = w.board(**{"default_mhz: 200": "default_mhz: .nan"})
    return estimate_args(w.model)[:3] + [b], None


@case("board", "board_file_missing", culprit=r"unknown board .*nope\.yaml")
def _(w):
    return estimate_args(w.model)[:3] + [w.p("nope.yaml")], None


@case("board", "board_file_zero_clock", culprit=r"default_mhz must be in \(0, max_mhz\]")
def _(w):
    b = w.board(**{"default_mhz: 200": "default_mhz: 0"})
    return estimate_args(w.model)[:3] + [b], None


@case("board", "board_file_nan_resource", culprit=r"my_board\.yaml.*'lut' must be int")
def _(w):
    b = w.board(**{"lut: 230400": "lut: .nan"})
    return estimate_args(w.model)[:3] + [b], None


@case("board", "board_file_clock_string", culprit=r"'max_mhz' must be float")
def _(w):
    b = w.board(**{"max_mhz: 300": "max_mhz: fast"})
    return estimate_args(w.model)[:3] + [b], None


# ================================================================ the test
def test_corpus_size():
    """At least 60 cases, at least 8 in each class (issue 16)."""
    n = Counter(c.cls for c in CASES)
    assert len(CASES) >= 60, len(CASES)
    assert all(n[k] >= 8 for k in CLASSES), n
    assert len({(c.cls, c.name) for c in CASES}) == len(CASES)


@pytest.mark.parametrize(
    "c",
    [
        pytest.param(
            c,
            id=f"{c.cls}-{c.name}",
            marks=[pytest.mark.xfail(strict=True, reason=c.xfail)] if c.xfail else [],
        )
        for c in CASES
    ],
)
def test_case(c: Case, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    w = Work(tmp_path)
    args, cwd = c.setup(w)
    before = snapshot(tmp_path)
    r = run(args, cwd)
    after = snapshot(tmp_path)
    if c.code != 0:
        assert_clean_error(r, c.code, c.culprit)
        assert_unchanged(before, after)
        return
    assert r.code == 0, r.err
    assert "Traceback" not in r.err and "error" not in r.err, r.err
    outs = [a for a in args[1:] if Path(str(a)).parent == w.dir] if args[0] == "build" else []
    for k in before:  # nothing outside the output folder changed or vanished
        if not any(k.startswith(os.path.relpath(o, tmp_path)) for o in outs):
            assert after.get(k, "<lost>") == before[k], k
    c.check(w, before, after, r)


# ================================================================ signals (subprocess)
# the child starts as from a terminal: Python leaves SIGINT ignored when its parent ignored
# it (pytest run in the background of a non-interactive shell), and a user's Ctrl-C is what
# this stands for
_STOP_IN_WRITE = """
import os, signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)
import fpgagen.codegen.rtl as rtl
orig = rtl.write_rtl
def stop(df, d):
    info = orig(df, d)
    os.kill(os.getpid(), getattr(signal, sys.argv[1]))
    return info
rtl.write_rtl = stop
from fpgagen.cli import main
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
@pytest.mark.parametrize("rebuild", [False, True], ids=["new", "rebuild"])
def test_signal_during_write_leaves_nothing(sig, rebuild, tmp_path):
    """A signal in the middle of writing: exit 128+N, one line, old build (if any) intact,
    no new or temporary folder."""
    w = Work(tmp_path)
    if rebuild:
        w.build()
        (w.p("out") / "notes.txt").write_text("mine")
    before = snapshot(tmp_path)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "generator"), str(ROOT)]))
    p = subprocess.run(
        [sys.executable, "-c", _STOP_IN_WRITE, sig, *build_args(w, w.model)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert p.returncode == 128 + getattr(signal, sig), p.stderr
    assert p.stderr.strip().splitlines() == [
        f"fpgagen: interrupted ({sig}); nothing was left half-written"
    ], p.stderr
    assert_unchanged(before, snapshot(tmp_path))


def test_sigkill_leftover_is_removed_by_the_next_build(tmp_path):
    """SIGKILL cannot be caught: the staging folder stays. The next build of the same output
    folder removes it (its process is gone) and nothing else (a look-alike of the user's)."""
    w = Work(tmp_path)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "generator"), str(ROOT)]))
    p = subprocess.run(
        [sys.executable, "-c", _STOP_IN_WRITE, "SIGKILL", *build_args(w, w.model)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert p.returncode == -signal.SIGKILL
    left = [d for d in w.dir.iterdir() if d.name.startswith(".out.fpgagen-")]
    assert len(left) == 1 and not w.p("out").exists()
    mine = w.p(".out.fpgagen-999999999-mine")
    mine.mkdir()
    (mine / "keep.txt").write_text("mine")
    assert run(build_args(w, w.model)).code == 0
    assert not left[0].exists() and (mine / "keep.txt").read_text() == "mine"
    assert (
        ".fpgagen-staging"
        not in json.loads((w.p("out") / "fpgagen-manifest.json").read_text())["files"]
    )

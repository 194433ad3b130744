"""fpgagen.tasks: pure, cached tasks on this process, a local pool and a Dask cluster (issue 23).

The same sweep (scale tasks over the boards for two models, plus tiny Yosys syntheses) must
give the same results in this process, on a local pool and on a 2-worker LocalCluster; a
worker killed in the middle of a sweep loses nothing and leaves no damaged cache entry; a
failing or hanging task is retried and reported, never dropped.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import numpy as np
import onnx
import pytest
from fpgagen.cli import main
from fpgagen.scale import scale
from fpgagen.tasks import Task, TaskCache, code_fingerprint, run_tasks, task_key

from tests.support.qonnx_graphs import small_mlp

distributed = pytest.importorskip("distributed")  # the cluster extra; installed by make setup

# one LocalCluster and one reference sweep for the module: keep its tests on one xdist worker
pytestmark = pytest.mark.xdist_group("tasks")


# -- task functions (module level: workers import them by name) ---------------------------------
def _square(x: int, delay: float = 0.0) -> dict:
    time.sleep(delay)
    return {"x": x, "y": x * x}


def _flaky(marker: str) -> dict:
    """Fails the first time (leaves a marker), succeeds the second."""
    m = Path(marker)
    if not m.exists():
        m.write_text("failed once")
        raise RuntimeError("first attempt fails")
    return {"second": True}


def _broken() -> dict:
    raise ValueError("this task always fails")


def _synth_thresholding(c: int, pe: int, n_thres: int, workdir: str, cache_dir: str) -> dict:
    """A tiny Yosys synthesis: one Thresholding layer (counts only, no timing or paths)."""
    from fpgagen.datatypes import DataType
    from fpgagen.layers.thresholding import Thresholding
    from fpgagen.synth import RESOURCE_KEYS, synth_layer

    rng = np.random.default_rng(c * 100 + pe * 10 + n_thres)
    thr = np.sort(rng.integers(-40, 40, size=(c, n_thres)), axis=1)
    out = DataType("BIPOLAR") if n_thres == 1 else DataType(f"UINT{n_thres.bit_length()}")
    layer = Thresholding(f"thr_c{c}p{pe}t{n_thres}", thr, DataType("INT8"), out, 0, pe=pe)
    r = synth_layer(layer, Path(workdir) / layer.name, cache_dir=cache_dir)
    return {k: r[k] for k in RESOURCE_KEYS} | {"cells": r["cells"]}


# -- fixtures -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("task_models")
    small, wide = d / "mlp.onnx", d / "wide.onnx"
    onnx.save(small_mlp(), small)
    onnx.save(small_mlp(in_features=256, hidden=512, out_features=10), wide)
    return [small, wide]


@pytest.fixture(scope="module")
def cluster():
    from fpgagen.tasks import local_cluster

    client = local_cluster(2)
    yield client
    client.close()
    client.cluster.close()


_SYNTH = [(4, 1, 1), (8, 2, 3)]


def _sweep(models, tmp: Path, synth: bool = True, **run) -> dict:
    """The sweep: scale over every board for each model, and two tiny Yosys syntheses."""
    rows = {str(m.name): scale(m, cache=tmp / "cache", **run) for m in models}
    if not synth:
        return rows
    tasks = [
        Task(
            _synth_thresholding,
            {
                "c": c,
                "pe": pe,
                "n_thres": n,
                "workdir": str(tmp / "synth"),
                "cache_dir": str(tmp / "yosys"),
            },
            label=f"thr {c}/{pe}/{n}",
            key=task_key("test.synth", {"c": c, "pe": pe, "n": n}),
        )
        for c, pe, n in _SYNTH
    ]
    outs = run_tasks(tasks, cache=tmp / "cache", **run)
    assert all(o.ok for o in outs), [o.error for o in outs]
    rows["synth"] = [o.result for o in outs]
    return rows


@pytest.fixture(scope="module")
def reference(models, tmp_path_factory):
    """The sweep in this process (jobs=1), with its own cache and Yosys cache."""
    return _sweep(models, tmp_path_factory.mktemp("ref"), jobs=1)


# -- the cache ----------------------------------------------------------------------------------
def test_cache_is_atomic_and_checked(tmp_path):
    c = TaskCache(tmp_path)
    key = task_key("t", {"a": 1})
    assert c.get(key) is None
    p = c.put(key, {"v": [1, 2]}, kind="t")
    assert c.get(key)["result"] == {"v": [1, 2]}
    assert not list(tmp_path.rglob("*.tmp"))  # the temporary was renamed into place
    # a damaged entry (truncated, or its result changed) is a miss, never returned
    text = p.read_text()
    p.write_text(text[: len(text) // 2])
    assert c.get(key) is None
    e = json.loads(text)
    e["result"]["v"] = [1, 3]
    p.write_text(json.dumps(e))
    assert c.get(key) is None
    # run_tasks recomputes it and repairs the entry
    (o,) = run_tasks([Task(_square, {"x": 3}, key=key)], cache=tmp_path)
    assert o.status == "ok" and c.get(key)["result"] == {"x": 3, "y": 9}
    (o,) = run_tasks([Task(_square, {"x": 3}, key=key)], cache=tmp_path)
    assert o.status == "cached"


def test_key_is_content_not_path(tmp_path, models):
    a, b = tmp_path / "a.onnx", tmp_path / "b.onnx"
    a.write_bytes(models[0].read_bytes())
    b.write_bytes(models[0].read_bytes())
    ka = task_key("k", {"x": 1}, {"model": a})
    assert ka == task_key("k", {"x": 1}, {"model": b})
    assert ka != task_key("k", {"x": 2}, {"model": a})
    b.write_bytes(models[1].read_bytes())
    assert ka != task_key("k", {"x": 1}, {"model": b})
    assert len(code_fingerprint()) == 16


# -- failures -----------------------------------------------------------------------------------
@pytest.mark.parametrize("jobs", [1, 2])
def test_failures_retried_and_reported(tmp_path, jobs):
    lines = []
    tasks = [
        Task(_square, {"x": 2}, label="ok"),
        Task(_flaky, {"marker": str(tmp_path / "m")}, label="flaky", key="flaky" + "0" * 35),
        Task(_broken, {}, label="broken", key="broken" + "0" * 34),
    ]
    outs = run_tasks(tasks, jobs=jobs, retries=1, cache=tmp_path / "c", progress=lines.append)
    assert [o.status for o in outs] == ["ok", "ok", "failed"]
    assert outs[1].attempts == 2 and outs[1].result == {"second": True}
    assert outs[2].attempts == 2 and "ValueError: this task always fails" in outs[2].error
    assert any("broken: FAILED after 2 attempt(s)" in x for x in lines)
    assert "1 failed" in lines[-1]
    assert TaskCache(tmp_path / "c").get(tasks[2].key) is None  # failures are not cached
    # with no retries the flaky one would have failed: the count is honoured
    (tmp_path / "m").unlink()
    (o,) = run_tasks([Task(_flaky, {"marker": str(tmp_path / "m")})], jobs=jobs, retries=0)
    assert o.status == "failed" and o.attempts == 1


def test_timeout_on_pool(tmp_path):
    """A hanging task is stopped, retried and reported; the others finish."""
    t0 = time.monotonic()
    tasks = [Task(_square, {"x": 5, "delay": 60}, label="hangs", timeout=2)] + [
        Task(_square, {"x": i}, label=f"t{i}") for i in range(4)
    ]
    outs = run_tasks(tasks, jobs=2, retries=1, cache=False)
    assert time.monotonic() - t0 < 40
    assert outs[0].status == "failed" and "timed out after 2 s" in outs[0].error
    assert outs[0].attempts == 2
    assert [o.result["y"] for o in outs[1:]] == [0, 1, 4, 9]


# -- the same results everywhere ----------------------------------------------------------------
def test_local_pool_same_results(models, reference, tmp_path):
    got = _sweep(models, tmp_path, synth=False, jobs=2)
    assert got == {k: v for k, v in reference.items() if k != "synth"}


def test_dask_cluster_same_results(models, reference, cluster, tmp_path):
    assert len(cluster.nthreads()) == 2
    lines = []
    got = _sweep(models, tmp_path, client=cluster, progress=lines.append)
    assert got == reference
    workers = {x.split(" on ")[-1].rstrip(")") for x in lines if x.startswith("[") and " on " in x}
    assert len(workers) == 2, workers  # both workers took tasks
    # the rerun is served from the shared cache, without running anything
    again = _sweep(models, tmp_path, client=cluster, progress=lines.append)
    assert again == reference and lines[-1].endswith("all cached")


def _worker_env(env: dict) -> bool:
    """Runs on each Dask worker: set (value) or unset (None) variables, forget the Yosys
    command the worker resolved before."""
    from fpgagen.synth import yosys

    for k, v in env.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    yosys._YOSYS.clear()
    return True


def test_synth_on_dask_keeps_isolation_and_fallback(cluster, tmp_path, monkeypatch):
    """``synth_build`` on the cluster: the same entries as on local threads — a crashing
    layer recovered by the fallback, one failed for good, the top straight to the fallback
    — and the Yosys runs happened on the workers."""
    import sys

    from fpgagen.flow import build
    from fpgagen.synth import synth_build, yosys

    from tests.synth.test_synth_build import FAKE

    p = tmp_path / "mlp.onnx"
    onnx.save(small_mlp(hidden=8, in_features=8, out_features=4), p)
    out = tmp_path / "out"
    # fully unrolled (no I/O bound): the layer list and Yosys runs these tests count
    build(p, "zcu104", out, backend="rtl", progress=lambda m: None, io="stream")
    env = {
        "FPGAGEN_YOSYS": f"{sys.executable} {FAKE}",
        "FAKE_YOSYS_RULES": json.dumps({"MatMul_10": "trap", "MatMul_26": "fail"}),
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("FAKE_YOSYS_CALLS", str(tmp_path / "calls_local"))
    monkeypatch.setattr(yosys, "_YOSYS", {})
    local = synth_build(out, cache_dir=tmp_path / "c1", jobs=2)
    cluster.run(_worker_env, env | {"FAKE_YOSYS_CALLS": str(tmp_path / "calls_dask")})
    try:
        lines = []
        dist = synth_build(out, cache_dir=tmp_path / "c2", client=cluster, progress=lines.append)
    finally:
        cluster.run(_worker_env, dict.fromkeys([*env, "FAKE_YOSYS_CALLS"]))

    def same(e):
        a = e.get("actual")
        return (e["status"], e["script"], e["reason"], a and {**a, "seconds": 0})

    assert [same(e) for e in dist["layers"]] == [same(e) for e in local["layers"]]
    assert [e["status"] for e in dist["layers"]] == ["ok", "fallback", "ok", "failed", "ok"]
    assert same(dist["top"]) == same(local["top"]) and dist["top"]["status"] == "fallback"
    assert dist["sum_actual"] == local["sum_actual"] and dist["n_failed"] == 1
    ran = (tmp_path / "calls_dask").read_text().splitlines()
    assert len(ran) == len((tmp_path / "calls_local").read_text().splitlines()) == 5 + 2 + 1
    assert "on the Dask cluster" in lines[0]
    assert any(x.startswith("[5/5]") and "1 fallback, 1 failed" in x for x in lines)


def test_timeout_on_dask_restarts_the_worker(cluster):
    """A hanging task on Dask: its worker is restarted (the thread cannot be stopped), the
    task reported as timed out, the others done; the cluster is whole again afterwards."""
    tasks = [Task(_square, {"x": 5, "delay": 120}, label="hangs", timeout=3)] + [
        Task(_square, {"x": i, "delay": 0.2}, label=f"t{i}") for i in range(4)
    ]
    t0 = time.monotonic()
    outs = run_tasks(tasks, client=cluster, retries=0, cache=False)
    assert time.monotonic() - t0 < 90
    assert outs[0].status == "failed" and "timed out after 3 s" in outs[0].error
    assert [o.result["y"] for o in outs[1:]] == [0, 1, 4, 9]
    # the restarted worker is back and nothing runs: the hung task (120 s) was not moved to
    # another worker, and no finished result held on the killed worker is being recomputed
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (
        len(cluster.nthreads()) < 2 or any(cluster.processing().values())
    ):
        time.sleep(0.5)
    assert len(cluster.nthreads()) == 2 and not any(cluster.processing().values())


def _check_cache(root: Path, n: int) -> None:
    c = TaskCache(root)
    entries = c.entries()
    assert len(entries) == n
    for p in entries:
        assert c.get(p.stem) is not None, f"damaged cache entry {p}"


def test_worker_killed_mid_sweep(models, reference, cluster, tmp_path):
    """SIGKILL a Dask worker while it runs a task: every result arrives, equal to the
    reference, and every cache entry is whole."""
    pids = cluster.run(os.getpid)
    killed = []

    def kill_busy(msg: str) -> None:
        if killed or not msg.startswith("["):  # a task finished: others are running
            return
        busy = [w for w, keys in cluster.processing().items() if keys]
        if busy:
            os.kill(pids[busy[0]], signal.SIGKILL)
            killed.append(busy[0])

    rows = {
        m.name: scale(m, cache=tmp_path / "cache", client=cluster, progress=kill_busy)
        for m in models
    }
    assert killed, "no worker was busy to kill"
    assert rows == {k: v for k, v in reference.items() if k != "synth"}
    _check_cache(tmp_path / "cache", 8)
    # the cluster healed (the nanny restarted the worker) and a rerun is all cached
    deadline = time.monotonic() + 60
    while len(cluster.nthreads()) < 2 and time.monotonic() < deadline:
        time.sleep(0.5)
    lines = []
    rows2 = {
        m.name: scale(m, cache=tmp_path / "cache", client=cluster, progress=lines.append)
        for m in models
    }
    assert rows2 == rows and all(x.endswith("all cached") for x in lines if "tasks" in x[:9])


def test_pool_worker_killed_mid_sweep(models, reference, tmp_path):
    """The same on the local process pool: the broken pool is rebuilt and the lost tasks
    run again."""
    import multiprocessing

    killed = []

    def kill_one(msg: str) -> None:
        if killed or not msg.startswith("["):
            return
        kids = multiprocessing.active_children()
        if kids:
            os.kill(kids[0].pid, signal.SIGKILL)
            killed.append(kids[0].pid)

    rows = scale(models[1], cache=tmp_path / "cache", jobs=2, progress=kill_one)
    assert killed
    assert rows == reference[models[1].name]
    _check_cache(tmp_path / "cache", 4)


# -- the command line ---------------------------------------------------------------------------
def test_cli_scale_jobs(models, reference, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FPGAGEN_CACHE", str(tmp_path))
    m = models[0]
    assert main(["scale", str(m), "--json", "-j", "2"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == reference[m.name]
    assert "4 tasks: 0 cached, 4 to run on 2 local worker(s)" in err
    assert len(TaskCache(tmp_path / "tasks").entries()) == 4
    assert main(["scale", str(m), "--json", "--no-cache", "--cache-dir", str(tmp_path / "x")]) == 0
    assert json.loads(capsys.readouterr().out) == reference[m.name]
    assert not (tmp_path / "x").exists()
    rc = main(["scale", str(m), "--scheduler", "tcp://127.0.0.1:9", "--no-cache"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in err


def test_cli_verify_several_builds(models, tmp_path, capsys, monkeypatch):
    """Two foldings of one model verified as two tasks; a rerun is cached; a disagreement is
    a FAIL line per folder (exit 1); bad folders and --save-outputs are refused first."""
    from fpgagen.flow import build

    monkeypatch.setenv("FPGAGEN_CACHE", str(tmp_path / "c"))
    outs = []
    for i, fps in enumerate((None, 1e5)):
        o = tmp_path / f"b{i}"
        # the first fully unrolled (no I/O bound), the second folded for 100 kfps
        io = "stream" if fps is None else "memory"
        build(models[0], "zcu104", o, fps=fps, backend="rtl", progress=lambda m: None, io=io)
        outs.append(str(o))
    assert json.loads((tmp_path / "b0" / "folding.json").read_text()) != json.loads(
        (tmp_path / "b1" / "folding.json").read_text()
    )
    x = np.random.default_rng(0).uniform(-1, 1, (3, 16)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    xs = ["--inputs", str(tmp_path / "x.npy")]
    rc = main(["verify", *outs, *xs, "-j", "2", "--json"])
    rows = json.loads(capsys.readouterr().out)
    assert rc == 0, rows
    assert [r["build"] for r in rows] == [str(Path(o).resolve()) for o in outs]
    assert all(r["ok"] and r["frames"] == 3 and r["status"] == "ok" for r in rows)
    assert main(["verify", *outs, *xs]) == 0
    out = capsys.readouterr().out
    assert out.count("(cached)") == 2 and "2 of 2 builds pass" in out
    np.save(tmp_path / "y.npy", np.full((3, 5), 7.0, np.float32))
    assert main(["verify", *outs, *xs, "--outputs", str(tmp_path / "y.npy")]) == 1
    out = capsys.readouterr().out
    assert out.count("FAIL: ") == 2 and "disagrees with the golden model" in out
    assert "0 of 2 builds pass" in out
    rc = main(["verify", *outs, *xs, "--save-outputs", str(tmp_path / "s.npy")])
    assert rc == 2 and "--save-outputs takes one build folder" in capsys.readouterr().err
    assert main(["verify", outs[0], str(tmp_path), *xs]) == 2
    assert "not an fpgagen build folder" in capsys.readouterr().err

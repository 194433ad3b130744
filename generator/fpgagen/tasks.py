"""Design-space work as pure, cached tasks on a local pool or a Dask cluster.

A :class:`Task` is a module-level function with keyword arguments whose result (a JSON-able
dict) depends only on its inputs: the model, the folding, the board, the tool and its
version, and fpgagen's own code. :func:`run_tasks` runs a list of them

* in this process (``jobs=1``), on a local process pool of ``jobs`` workers, or on a Dask
  cluster (``scheduler="tcp://host:8786"``, a running ``dask scheduler``, or an existing
  ``distributed.Client``) — Dask is the engine, fpgagen only submits and collects;
* with results cached by content hash (:func:`task_key`) in a shared cache folder
  (``$FPGAGEN_CACHE/tasks`` unless told otherwise): a rerun, or a colleague pointing at the
  same folder, reuses them. Entries are written atomically (a temporary file renamed into
  place) and carry a checksum, so a worker killed mid-write never leaves a corrupt entry and
  a damaged one is recomputed, never returned;
* with failures reported, never dropped: a task that raises or exceeds its time-out is
  retried up to ``retries`` times and then reported as failed with its reason; a task whose
  worker dies is resubmitted (Dask does it itself; the local pool is rebuilt);
* with progress lines (tasks done / running / failed / cached).

Nothing in the flow imports this module: it is a consumer layer like :mod:`fpgagen.sim`
and :mod:`fpgagen.synth`, used by :mod:`fpgagen.scale`, multi-folder ``verify``,
:mod:`fpgagen.synth` and the benchmark sweeps. docs/distributed.md has the cluster set-up.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import json
import os
import socket
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__
from .errors import FpgagenError

__all__ = [
    "ClusterError",
    "Outcome",
    "Task",
    "TaskCache",
    "code_fingerprint",
    "file_digest",
    "run_tasks",
    "task_key",
]

#: bump when the cache entry format changes
_ENTRY_FORMAT = 1

#: a task whose worker died this many times is reported as failed (a task that kills workers)
MAX_LOST = 3


class ClusterError(FpgagenError):
    """Dask is missing, the scheduler cannot be reached, or the cache folder is unusable."""


# -- content hashing ----------------------------------------------------------------------------
_FINGERPRINT: dict = {}


def code_fingerprint() -> str:
    """Hash of fpgagen's version, Python sources and data folders (rtl/, hls_templates/,
    boards/): part of every task key, so an edited checkout never reuses stale results and
    a worker running other code is refused."""
    if "v" not in _FINGERPRINT:
        from .resources import data_dir

        h = hashlib.sha256(f"fpgagen {__version__}\0".encode())
        roots = [("fpgagen", Path(__file__).resolve().parent, ("*.py", "*.cpp", "*.j2"))]
        for name in ("rtl", "hls_templates", "boards"):
            with contextlib.suppress(FileNotFoundError):
                roots.append((name, data_dir(name), ("*",)))
        for tag, root, pats in roots:
            files = sorted({p for pat in pats for p in root.rglob(pat) if p.is_file()})
            for p in files:
                rel = p.relative_to(root).as_posix()
                if "__pycache__" in rel or rel.startswith("data/"):
                    continue
                h.update(f"{tag}/{rel}\0".encode())
                h.update(hashlib.sha256(p.read_bytes()).digest())
        _FINGERPRINT["v"] = h.hexdigest()[:16]
    return _FINGERPRINT["v"]


def file_digest(path, exclude=()) -> str:
    """SHA-256 of a file's bytes, or of a folder's relative paths and file contents (leaving
    out the sub-folders named in ``exclude``, e.g. a simulator's run folder)."""
    p = Path(path)
    h = hashlib.sha256()
    if p.is_dir():
        for q in sorted(x for x in p.rglob("*") if x.is_file()):
            rel = q.relative_to(p)
            if any(part in exclude for part in rel.parts[:-1]):
                continue
            h.update(rel.as_posix().encode() + b"\0")
            h.update(hashlib.sha256(q.read_bytes()).digest())
    elif p.is_file():
        h.update(p.read_bytes())
    else:
        raise ClusterError(f"{p}: no such file or folder (a task input)")
    return h.hexdigest()


def _canon(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def task_key(kind: str, inputs: dict, files: dict | None = None) -> str:
    """Content hash of a task: its ``kind``, JSON-able ``inputs``, the contents of its input
    ``files`` (``{role: path}`` or ``{role: (folder, excluded sub-folders)}``; paths themselves are not part of the key, so the same model
    elsewhere is the same task) and :func:`code_fingerprint`."""
    digests = {}
    for k, v in sorted((files or {}).items()):
        path, exclude = (v[0], v[1]) if isinstance(v, tuple) else (v, ())
        digests[k] = file_digest(path, exclude)
    doc = {"kind": kind, "code": code_fingerprint(), "inputs": inputs, "files": digests}
    return hashlib.sha256(_canon(doc).encode()).hexdigest()[:40]


# -- the cache ----------------------------------------------------------------------------------
def default_cache_dir() -> Path:
    base = os.environ.get("FPGAGEN_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "fpgagen"
    )
    return Path(base) / "tasks"


class TaskCache:
    """Task results by key under ``root`` (``<root>/<key[:2]>/<key>.json``).

    :meth:`put` writes a temporary file in the entry's folder, syncs it and renames it into
    place (atomic on POSIX and on NFS), so readers see the whole entry or none. :meth:`get`
    checks the entry's key and the checksum of its result and treats anything else as a miss.
    """

    def __init__(self, root=None):
        self.root = Path(root) if root is not None else default_cache_dir()

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict | None:
        """The entry of ``key`` (with ``result``), or None when absent or damaged."""
        p = self.path(key)
        try:
            e = json.loads(p.read_text())
        except (OSError, ValueError):
            return None
        if (
            not isinstance(e, dict)
            or e.get("key") != key
            or e.get("format") != _ENTRY_FORMAT
            or "result" not in e
            or e.get("sha256") != hashlib.sha256(_canon(e["result"]).encode()).hexdigest()
        ):
            return None
        return e

    def put(self, key: str, result: dict, **meta) -> Path:
        """Store ``result`` (JSON-able) under ``key`` atomically; returns the entry's path."""
        p = self.path(key)
        entry = {
            "format": _ENTRY_FORMAT,
            "key": key,
            **meta,
            "sha256": hashlib.sha256(_canon(result).encode()).hexdigest(),
            "result": result,
        }
        text = json.dumps(entry, indent=1, default=str) + "\n"
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
            tmp = p.parent / f".{p.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
            try:
                with open(tmp, "w") as f:
                    f.write(text)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, p)
            finally:
                tmp.unlink(missing_ok=True)
        except OSError as e:
            raise ClusterError(f"task cache {self.root}: cannot write {p.name}: {e}") from None
        return p

    def entries(self) -> list[Path]:
        """Every entry file (not the temporaries of writes under way or interrupted)."""
        return sorted(self.root.glob("??/*.json")) if self.root.is_dir() else []


# -- tasks and outcomes -------------------------------------------------------------------------
@dataclass
class Task:
    """One unit of design-space work.

    ``fn`` is a module-level function (workers import it by name) called as ``fn(**kwargs)``
    and returning a JSON-able dict. ``key`` (from :func:`task_key`) caches the result; None
    means the engine does not cache it (the function caches itself, as Yosys runs do).
    ``label`` names the task in progress lines and reports; ``describe`` (optional, run in
    the caller) turns a result into a short progress note. ``timeout`` (seconds) overrides
    :func:`run_tasks`'s for this task.
    """

    fn: Callable
    kwargs: dict = field(default_factory=dict)
    label: str = ""
    key: str | None = None
    kind: str = ""
    describe: Callable | None = None
    timeout: float | None = None


@dataclass
class Outcome:
    """What became of a task: ``status`` is ``ok``, ``cached`` or ``failed``; ``result`` the
    function's dict (None if failed); ``error`` the one-line reason of the last failure;
    ``attempts`` how many times it ran; ``seconds`` of the run that produced it; ``worker``
    where it ran (``host:pid``)."""

    label: str
    key: str | None
    status: str
    result: dict | None = None
    error: str | None = None
    attempts: int = 0
    seconds: float = 0.0
    worker: str | None = None

    @property
    def ok(self) -> bool:
        return self.status != "failed"


def _execute(fn, kwargs: dict, key, cache_root, code: str, kind: str, label: str) -> dict:
    """Run one task where it was sent; never raises (the envelope says what happened)."""
    worker = f"{socket.gethostname()}:{os.getpid()}"
    t0 = time.perf_counter()
    try:
        mine = code_fingerprint()
        if mine != code:
            raise ClusterError(
                f"worker {worker} runs other fpgagen code (fingerprint {mine}, the client's "
                f"{code}): install the same fpgagen version on every worker"
            )
        res = fn(**kwargs)
        if not isinstance(res, dict):
            raise TypeError(f"task function {fn.__name__} returned {type(res).__name__}, not dict")
        res = json.loads(json.dumps(res, default=str))  # JSON-able, the same on every path
    except BaseException as e:
        if isinstance(e, KeyboardInterrupt):
            raise
        msg = " ".join(str(e).split())[:400]
        tb = traceback.extract_tb(e.__traceback__)
        at = f" (at {Path(tb[-1].filename).name}:{tb[-1].lineno})" if tb else ""
        return {
            "ok": False,
            "error": f"{type(e).__name__}: {msg}{at}",
            "seconds": round(time.perf_counter() - t0, 3),
            "worker": worker,
        }
    secs = round(time.perf_counter() - t0, 3)
    if key is not None and cache_root is not None:
        with contextlib.suppress(ClusterError):  # the client stores it too
            TaskCache(cache_root).put(key, res, kind=kind, label=label, seconds=secs, worker=worker)
    return {"ok": True, "result": res, "seconds": secs, "worker": worker}


# -- executors ----------------------------------------------------------------------------------
class _Serial:
    """In this process, one task at a time (``jobs=1``)."""

    slots = 1

    def submit(self, fn, *args):
        f = concurrent.futures.Future()
        try:
            f.set_result(fn(*args))
        except BaseException as e:
            f.set_exception(e)
        return f

    def wait(self, futs, timeout):
        return {f for f in futs if f.done()}

    def lost(self, exc, fut) -> bool:
        return False

    def forget(self, fut) -> None:  # a local future holds nothing elsewhere
        pass

    def abandon(self, fut) -> None:
        pass

    def close(self) -> None:
        pass


class _Threads:
    """``jobs`` threads of this process: for tasks whose work is a child process of their own
    (a Yosys run), which the caller can then kill on an interrupt."""

    def __init__(self, jobs: int):
        self.slots = jobs
        self._ex = concurrent.futures.ThreadPoolExecutor(max_workers=jobs)

    def submit(self, fn, *args):
        return self._ex.submit(fn, *args)

    def wait(self, futs, timeout):
        done, _ = concurrent.futures.wait(
            futs, timeout=timeout, return_when=concurrent.futures.FIRST_COMPLETED
        )
        return done

    def lost(self, exc, fut) -> bool:
        return False

    def forget(self, fut) -> None:  # a local future holds nothing elsewhere
        pass

    def abandon(self, fut) -> None:  # a thread cannot be stopped: its tool's time-out does it
        pass

    def close(self) -> None:
        self._ex.shutdown(wait=False, cancel_futures=True)


class _Pool:
    """A local process pool of ``jobs`` workers (rebuilt when a worker process dies)."""

    def __init__(self, jobs: int):
        self.slots = jobs
        self._ex = self._new()

    def _new(self):
        import multiprocessing

        ctx = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
        return concurrent.futures.ProcessPoolExecutor(max_workers=self.slots, mp_context=ctx)

    def submit(self, fn, *args):
        try:
            fut = self._ex.submit(fn, *args)
        except concurrent.futures.process.BrokenProcessPool:
            self._rebuild()
            fut = self._ex.submit(fn, *args)
        fut.fpgagen_pool = self._ex
        return fut

    def wait(self, futs, timeout):
        done, _ = concurrent.futures.wait(
            futs, timeout=timeout, return_when=concurrent.futures.FIRST_COMPLETED
        )
        return done

    def lost(self, exc, fut) -> bool:
        """A worker process died (the pool is broken; rebuilt once) or the task was cancelled
        with a pool that was replaced."""
        if isinstance(exc, concurrent.futures.process.BrokenProcessPool):
            if getattr(fut, "fpgagen_pool", None) is self._ex:
                self._rebuild()
            return True
        return isinstance(exc, concurrent.futures.CancelledError)

    def _kill_workers(self, ex) -> None:
        kill = getattr(ex, "kill_workers", None)  # Python 3.14
        if kill is not None:
            kill()
            return
        for p in list((getattr(ex, "_processes", None) or {}).values()):
            with contextlib.suppress(Exception):
                p.kill()

    def _rebuild(self) -> None:
        old = self._ex
        self._ex = self._new()
        old.shutdown(wait=False, cancel_futures=True)

    def forget(self, fut) -> None:  # a local future holds nothing elsewhere
        pass

    def abandon(self, fut) -> None:
        """A timed-out task: the pool's processes are killed (the others are resubmitted)."""
        old = self._ex
        self._ex = self._new()
        self._kill_workers(old)
        old.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        self._kill_workers(self._ex)
        self._ex.shutdown(wait=True, cancel_futures=True)


async def _exit_worker() -> None:
    """Run on a Dask worker's event loop (``client.run(..., wait=False)`` takes coroutines
    only): end its process at once."""
    os._exit(1)


class _Dask:
    """A Dask cluster through a ``distributed.Client``."""

    def __init__(self, client, own: bool):
        import distributed

        self._d = distributed
        self.client, self.own = client, own

    @property
    def slots(self) -> int:
        try:
            return max(1, sum(self.client.nthreads().values()))
        except Exception:
            return 1

    def submit(self, fn, *args):
        return self.client.submit(fn, *args, pure=False, key=f"fpgagen-{uuid.uuid4().hex}")

    def wait(self, futs, timeout):
        try:
            done, _ = self._d.wait(list(futs), timeout=timeout, return_when="FIRST_COMPLETED")
        except TimeoutError:
            return set()
        return set(done)

    def lost(self, exc, fut) -> bool:
        return type(exc).__name__ in ("KilledWorker", "CancelledError", "FutureCancelledError")

    def forget(self, fut) -> None:
        """A finished future's result has been read: release its key on the cluster. A key
        still held would be recomputed on another worker when its worker is restarted (as a
        time-out does), a task run for nothing while others wait for the slot."""
        with contextlib.suppress(Exception):
            fut.release()

    def abandon(self, fut) -> None:
        """A timed-out task: cancel it, then end the worker process running it at once (its
        nanny starts a fresh one; the scheduler moves that worker's queued tasks elsewhere).
        ``_exit_worker`` through ``client.run`` runs on the worker's event loop, not in its busy
        task thread, so it acts at once even on a loaded machine, where a graceful
        ``restart_workers`` can itself time out and leave the hung task holding the worker."""
        busy: list[str] = []
        with contextlib.suppress(Exception):
            busy = [w for w, keys in self.client.processing().items() if fut.key in keys]
        with contextlib.suppress(Exception):
            fut.cancel()
        if busy:
            with contextlib.suppress(Exception):
                self.client.run(_exit_worker, workers=busy, wait=False)
            # until the scheduler has dropped the dead worker, calls that reach every worker
            # (the caller's next client.run, say) would still be sent to it and fail
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    if not set(busy) & set(self.client.nthreads()):
                        break
                except Exception:
                    break
                time.sleep(0.2)

    def close(self) -> None:
        if self.own:
            with contextlib.suppress(Exception):
                self.client.close()


def _connect(scheduler, client, jobs, local="processes"):
    if client is not None:
        return _Dask(client, own=False)
    if scheduler:
        try:
            import distributed
        except ImportError:
            raise ClusterError(
                "--scheduler needs Dask distributed: pip install 'fpgagen[cluster]' "
                "(or `pip install dask[distributed]`)"
            ) from None
        try:
            c = distributed.Client(scheduler, timeout=20)
        except Exception as e:
            raise ClusterError(
                f"cannot reach the Dask scheduler at {scheduler}: {' '.join(str(e).split())[:200]}; "
                "start one with `dask scheduler` and workers with `dask worker ADDRESS` "
                "(docs/distributed.md)"
            ) from None
        return _Dask(c, own=True)
    if jobs is not None and jobs < 1:
        raise ClusterError(f"--jobs must be >= 1, got {jobs}")
    if local not in ("processes", "threads"):
        raise ValueError(f"local must be 'processes' or 'threads', not {local!r}")
    if not jobs or jobs == 1:
        return _Serial()
    return _Pool(jobs) if local == "processes" else _Threads(jobs)


# -- the run ------------------------------------------------------------------------------------
def run_tasks(
    tasks: list[Task],
    jobs: int | None = 1,
    scheduler: str | None = None,
    client=None,
    cache=True,
    retries: int = 1,
    timeout: float | None = None,
    progress=None,
    on_done=None,
    local: str = "processes",
    poll: float = 0.5,
) -> list[Outcome]:
    """Run ``tasks``; one :class:`Outcome` per task, in the same order, none dropped.

    Where: an existing Dask ``client``, else a ``scheduler`` address (``tcp://host:8786``),
    else a local process pool of ``jobs`` workers (``jobs=1``: in this process). At most as
    many tasks are submitted as there are worker threads, so "running" in the progress lines
    is what the workers hold. ``cache``: True for ``$FPGAGEN_CACHE/tasks``, a folder, or
    False (neither read nor written). A task that raises, or runs longer than ``timeout``
    seconds (its own ``timeout`` first), is retried up to ``retries`` times, then reported as
    failed; a task whose worker dies is resubmitted (up to :data:`MAX_LOST` times).
    ``progress`` receives one line per finished task and a closing summary; ``on_done(i,
    outcome, state)`` (for callers that print their own lines) is called as task ``i``
    finishes, ``state`` holding the counts ``total``, ``done``, ``running``, ``failed`` and
    ``cached``. ``local="threads"`` makes the local pool threads of this process instead of
    processes (for tasks that only wait for a tool's process).
    """
    say = progress or (lambda m: None)
    store = None if cache is False else TaskCache(None if cache is True else cache)
    n = len(tasks)
    out: list[Outcome | None] = [None] * n
    counts = {"done": 0, "failed": 0, "cached": 0}
    t_start = time.perf_counter()
    width = len(str(n))

    def line(i: int, o: Outcome, note: str) -> None:
        if on_done is not None:
            on_done(i, o, dict(counts, total=n, running=len(inflight)))
        say(
            f"[{counts['done']:>{width}}/{n} done, {len(inflight)} running, "
            f"{counts['failed']} failed, {counts['cached']} cached] {o.label}: {note}"
        )

    def note_of(t: Task, o: Outcome) -> str:
        if o.status == "failed":
            return f"FAILED after {o.attempts} attempt(s): {o.error}"
        d = ""
        if t.describe is not None:
            with contextlib.suppress(Exception):
                d = t.describe(o.result)
        where = "cached" if o.status == "cached" else f"{o.seconds:.1f} s on {o.worker}"
        return f"{d} ({where})" if d else where

    inflight: dict = {}
    todo: list[int] = []
    for i, t in enumerate(tasks):
        e = store.get(t.key) if store is not None and t.key else None
        if e is not None:
            o = out[i] = Outcome(t.label or f"task {i}", t.key, "cached", e["result"])
            counts["done"] += 1
            counts["cached"] += 1
            line(i, o, note_of(t, o))
        else:
            todo.append(i)
    if not todo:
        say(f"{n} tasks: all cached")
        return out  # type: ignore[return-value]

    ex = _connect(scheduler, client, jobs, local)
    code = code_fingerprint()
    root = str(store.root) if store is not None else None
    attempts = [0] * n
    lost = [0] * n
    last_error: list[str | None] = [None] * n
    queue = list(todo)
    if isinstance(ex, _Dask):
        where = f"the Dask cluster {scheduler or ''} ({ex.slots} worker threads)".replace("  ", " ")
    else:
        where = f"{ex.slots} local worker(s)" if ex.slots > 1 else "this process"
    say(f"{n} tasks: {n - len(todo)} cached, {len(todo)} to run on {where}")

    def finish(i: int, o: Outcome) -> None:
        out[i] = o
        counts["done"] += 1
        counts["failed"] += o.status == "failed"
        line(i, o, note_of(tasks[i], o))

    def retry_or_fail(i: int, reason: str) -> None:
        last_error[i] = reason
        if attempts[i] <= retries:
            say(f"  {tasks[i].label}: {reason}; retrying ({attempts[i]}/{retries + 1} so far)")
            queue.append(i)
        else:
            finish(i, Outcome(tasks[i].label, tasks[i].key, "failed", None, reason, attempts[i]))

    try:
        while queue or inflight:
            while queue and len(inflight) < ex.slots:
                i = queue.pop(0)
                t = tasks[i]
                attempts[i] += 1
                args = (t.fn, t.kwargs, t.key, root, code, t.kind, t.label)
                fut = ex.submit(_execute, *args)
                inflight[fut] = (i, time.monotonic())
            done = ex.wait(set(inflight), poll)
            for fut in done:
                i, _ = inflight.pop(fut)
                t = tasks[i]
                try:
                    env = fut.result()
                except BaseException as exc:
                    ex.forget(fut)
                    if isinstance(exc, KeyboardInterrupt):
                        raise
                    gone = ex.lost(exc, fut)
                    if gone and lost[i] < MAX_LOST:
                        lost[i] += 1
                        attempts[i] -= 1  # the worker died, not the task
                        say(f"  {t.label}: its worker was lost ({type(exc).__name__}); resubmitted")
                        queue.insert(0, i)
                    else:
                        why = f"its worker was lost {lost[i] + 1} times" if gone else ""
                        retry_or_fail(i, why or f"{type(exc).__name__}: {exc}")
                    continue
                ex.forget(fut)
                if env["ok"]:
                    if store is not None and t.key and store.get(t.key) is None:
                        store.put(
                            t.key,
                            env["result"],
                            kind=t.kind,
                            label=t.label,
                            seconds=env["seconds"],
                            worker=env["worker"],
                        )
                    finish(
                        i,
                        Outcome(
                            t.label,
                            t.key,
                            "ok",
                            env["result"],
                            None,
                            attempts[i],
                            env["seconds"],
                            env["worker"],
                        ),
                    )
                else:
                    retry_or_fail(i, env["error"])
            now = time.monotonic()
            for fut, (i, t0) in list(inflight.items()):
                limit = tasks[i].timeout if tasks[i].timeout is not None else timeout
                if limit is not None and now - t0 > limit and not fut.done():
                    del inflight[fut]
                    # the pool is replaced: the other running tasks go back in the queue
                    if isinstance(ex, _Pool):
                        for f2, (j, _) in list(inflight.items()):
                            del inflight[f2]
                            attempts[j] -= 1
                            queue.insert(0, j)
                    ex.abandon(fut)
                    retry_or_fail(i, f"timed out after {limit:g} s")
    except BaseException:
        for fut in inflight:
            with contextlib.suppress(Exception):
                fut.cancel()
        ex.close()
        raise
    ex.close()
    secs = time.perf_counter() - t_start
    say(
        f"{n} tasks: {n - counts['failed']} done ({counts['cached']} cached), "
        f"{counts['failed']} failed, in {secs:.1f} s"
    )
    return out  # type: ignore[return-value]


def local_cluster(n_workers: int = 2, threads_per_worker: int = 1):
    """A ``distributed.Client`` on a fresh local cluster of worker processes (for tests and
    for trying the Dask path on one machine); close it with ``client.close()`` and
    ``client.cluster.close()``."""
    try:
        import distributed
    except ImportError:
        raise ClusterError("needs Dask distributed: pip install 'fpgagen[cluster]'") from None
    cluster = distributed.LocalCluster(
        n_workers=n_workers,
        threads_per_worker=threads_per_worker,
        processes=True,
        dashboard_address=None,
        silence_logs=40,
    )
    return distributed.Client(cluster)


# -- verification of several build folders -------------------------------------------------------
def _verify_task(outdir, inputs, backend, outputs, stress, atol) -> dict:
    """``fpgagen verify`` of one build folder as a task: the report, or ``ok: False`` with the
    disagreement (a result, cached like a pass); other errors fail the task."""
    from .errors import VerificationError
    from .flow import verify

    lines: list[str] = []
    try:
        rep = verify(
            outdir,
            inputs,
            backend=backend,
            outputs=outputs,
            progress=lines.append,
            stress=stress,
            atol=atol,
        )
    except VerificationError as e:
        return {"ok": False, "error": " ".join(str(e).split()), "lines": lines}
    return rep | {"lines": lines}


def verify_builds(
    outdirs,
    inputs,
    backend: str = "golden",
    outputs=None,
    stress: bool = True,
    atol: float = 1e-4,
    jobs: int | None = 1,
    scheduler=None,
    client=None,
    cache=True,
    retries: int = 1,
    timeout: float | None = None,
    progress=None,
) -> list[dict]:
    """``fpgagen verify`` of several build folders, one task each (see :func:`run_tasks`).

    A task's key is the content of the folder's ``dataflow.json`` and ``model.onnx``, of the
    checked backend's sources (``rtl/`` or ``hls/``), of ``inputs``/``outputs``, and the
    options. Returns one dict per folder, in order: ``build``, ``status`` (``ok``, ``cached``
    or ``failed``), ``ok`` (the backend agrees), the :func:`fpgagen.flow.verify` report
    fields, ``error`` (the disagreement, or why the task failed) and ``lines`` (its progress
    lines). Folders that are not builds and missing inputs are refused before anything runs.
    """
    from .flow import BACKENDS

    if backend not in ("golden",) + BACKENDS:
        raise FpgagenError(f"unknown backend {backend!r}; use golden or {', '.join(BACKENDS)}")
    dirs = list(dict.fromkeys(Path(d).resolve() for d in outdirs))
    for d in dirs:
        if not (d / "dataflow.json").is_file() or not (d / "model.onnx").is_file():
            raise FpgagenError(
                f"{d}: not an fpgagen build folder (no dataflow.json/model.onnx); run "
                "`fpgagen build` first"
            )
    from .userio import load_array

    load_array(inputs)  # bad inputs are one error here, not a failed task per folder
    if outputs is not None:
        load_array(outputs, "--outputs")
    opts = {"backend": backend, "stress": bool(stress), "atol": atol}
    tasks = []
    for d in dirs:
        files = {"dataflow": d / "dataflow.json", "model": d / "model.onnx", "inputs": inputs}
        if outputs is not None:
            files["outputs"] = outputs
        if backend == "rtl":
            files["rtl"] = d / "rtl"
        elif backend == "hls":
            files["hls"] = (d / "hls", ("csim_run",))
        tasks.append(
            Task(
                _verify_task,
                {
                    "outdir": str(d),
                    "inputs": str(Path(inputs).resolve()),
                    "outputs": str(Path(outputs).resolve()) if outputs is not None else None,
                }
                | opts,
                label=f"verify {d.name}",
                key=task_key("verify.build", opts, files),
                kind="verify.build",
                describe=lambda r: "PASS" if r["ok"] else "MISMATCH",
            )
        )
    outs = run_tasks(
        tasks,
        jobs=jobs,
        scheduler=scheduler,
        client=client,
        cache=cache,
        retries=retries,
        timeout=timeout,
        progress=progress,
    )
    rows = []
    for d, o in zip(dirs, outs):
        r = {"build": str(d), "status": o.status}
        if o.ok:
            r |= {"error": None} | o.result
        else:
            r |= {"ok": False, "error": f"task failed: {o.error}", "lines": []}
        rows.append(r)
    return rows

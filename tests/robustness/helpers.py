"""Shared checks of the robustness corpus and the fuzzer: run the CLI in-process, snapshot a
folder, assert the bad-input contract (exit code, one clean stderr line naming the culprit,
no output folder, no lost file, nothing written outside the output folder)."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path

from fpgagen.cli import main


@dataclass
class Result:
    code: int
    out: str
    err: str


def run(args, cwd=None) -> Result:
    """``fpgagen ARGS`` in this process (stdout/stderr captured), optionally in ``cwd``."""
    out, err = io.StringIO(), io.StringIO()
    old = os.getcwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main([str(a) for a in args])
            except SystemExit as e:  # argparse usage errors
                code = e.code if isinstance(e.code, int) else 2
    finally:
        os.chdir(old)
    return Result(code, out.getvalue(), err.getvalue())


def snapshot(root: Path) -> dict:
    """Every file and folder under ``root``: relative path -> content hash (None: folder)."""
    snap = {}
    for d, dnames, fnames in os.walk(root):
        for n in dnames:
            snap[os.path.relpath(os.path.join(d, n), root)] = None
        for n in fnames:
            p = os.path.join(d, n)
            if os.path.islink(p):
                snap[os.path.relpath(p, root)] = "link:" + os.readlink(p)
            else:
                snap[os.path.relpath(p, root)] = hashlib.sha256(Path(p).read_bytes()).hexdigest()
    return snap


def assert_clean_error(r: Result, code: int = 2, culprit: str | None = None) -> str:
    """Exit ``code``, stderr exactly one ``fpgagen: error:`` line matching ``culprit``."""
    assert r.code == code, f"exit {r.code}, expected {code}; stderr: {r.err!r}"
    lines = r.err.splitlines()
    assert len(lines) == 1 and r.err.endswith("\n"), f"not one stderr line: {r.err!r}"
    line = lines[0]
    assert line.startswith("fpgagen: error: "), line
    assert "Traceback" not in line and "internal error" not in line, line
    if culprit is not None:
        assert re.search(culprit, line), f"{culprit!r} not in {line!r}"
    return line


def assert_unchanged(before: dict, after: dict) -> None:
    """No file lost or changed, nothing new (no output folder, no temporary folder)."""
    lost = sorted(set(before) - set(after))
    new = sorted(set(after) - set(before))
    changed = sorted(k for k in before if k in after and before[k] != after[k])
    assert not lost, f"lost: {lost}"
    assert not new, f"written: {new}"
    assert not changed, f"changed: {changed}"

"""Output folders: refuse dangerous ``-o`` paths, write atomically, never delete a user's file.

A build is written into a temporary folder next to the output folder and moved into place.
Every build records the files it wrote (path, size, SHA-256) in :data:`MANIFEST` inside the
build. Replacing an earlier build removes only the files that build recorded as its own and
that are still unchanged; every other file in the old folder (a user's notes, a vendor run's
bitstream, a simulation run, a generated file the user edited) is carried over into the new
build at the same place. A file of the user's that the new build would overwrite is refused
before anything is touched. A folder that is not an fpgagen build (no manifest) is never
replaced unless it is empty.

The contract (docs/cli.md, "Output folders"):

* ``-o`` may not be the current folder, one of its parents, the home folder, ``/``, a folder
  containing one of the command's input files, a symbolic link, or a path under a file;
* after a failure or an interruption (SIGINT, SIGTERM) the output folder is as it was before
  the command, and the temporary folder is gone;
* nothing is written outside the output folder except that temporary sibling.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import signal
import tempfile
import threading
from pathlib import Path

from .errors import FpgagenError

__all__ = [
    "MANIFEST",
    "OutputFolderError",
    "check_output_folder",
    "commit_build",
    "os_error",
    "read_manifest",
    "record_files",
    "short_path",
    "staging_folder",
    "write_folder",
]

#: Name of the file, inside a build, that lists the files the build wrote.
MANIFEST = "fpgagen-manifest.json"
_KIND = "fpgagen build manifest"


class OutputFolderError(FpgagenError):
    """The output folder is dangerous, not an fpgagen build, or cannot be written."""


def short_path(p) -> str:
    """``p`` for a message, every very long component shortened (with its length)."""
    parts = []
    for c in str(p).split(os.sep):
        parts.append(f"{c[:24]}...({len(c)} characters)" if len(c) > 60 else c)
    return os.sep.join(parts)


def os_error(e: OSError, what: str = "", staging: Path | None = None, outdir=None):
    """A one-line :class:`FpgagenError` for an operating-system error on a user path (a path
    inside the ``staging`` folder is shown as inside ``outdir``)."""
    name = e.filename if e.filename is not None else what
    if staging is not None and name is not None:
        with contextlib.suppress(ValueError):
            rel = Path(name).relative_to(staging)
            longest = max(rel.parts, key=len) if rel.parts else ""
            if e.errno == errno.ENAMETOOLONG and len(longest) > 60:
                return OutputFolderError(
                    f"{outdir}: the file name {longest[:24]}...({len(longest)} characters) "
                    f"made for {rel.parent / '...'} is too long for the file system; shorten "
                    "the node names of the model"
                )
            name = Path(outdir) / rel
    name = short_path(name) if name is not None else name
    reason = {
        errno.ENAMETOOLONG: "file name too long for the file system; use shorter names",
        errno.ENOTDIR: "a part of the path is a file, not a folder",
        errno.EACCES: "permission denied",
        errno.EPERM: "operation not permitted",
        errno.ENOSPC: "no space left on the device",
        errno.EROFS: "read-only file system",
        errno.EEXIST: "already exists",
        errno.EISDIR: "is a folder",
        errno.ENOENT: "no such file or folder",
    }.get(e.errno, e.strerror or type(e).__name__)
    return OutputFolderError(f"{name}: {reason}" + (f" ({what})" if what and name != what else ""))


def _is_within(p: Path, folder: Path) -> bool:
    return p == folder or folder in p.parents


def check_output_folder(outdir, inputs=(), option: str = "-o", content: str | None = None) -> Path:
    """Refuse an output folder fpgagen must not replace; returns it as a :class:`Path`.

    ``inputs`` are the command's input files (model, folding file, board file): the output
    folder may not contain any of them. An existing folder must be empty or an earlier build
    (with a readable manifest).
    """
    outdir = Path(outdir)
    shown = f"{option} {outdir}"
    if str(outdir).strip() == "":
        raise OutputFolderError(f"{option}: empty path; give a folder name")
    try:
        target = Path(os.path.abspath(outdir))
        real = outdir.resolve()
        cwd = Path.cwd().resolve()
        home = Path.home().resolve()
    except OSError as e:
        raise os_error(e, shown) from None
    what = None
    if real == Path(real.anchor):
        what = "the root folder"
    elif real == home:
        what = "your home folder"
    elif real == cwd:
        what = "the current folder"
    elif real in cwd.parents:
        what = "a parent of the current folder"
    if what:
        raise OutputFolderError(
            f"{shown}: is {what}; fpgagen replaces its output folder, so give a new or "
            "dedicated folder (e.g. -o build_<model>)"
        )
    for inp in inputs:
        if inp is None or not Path(inp).exists():  # a board name, not a file
            continue
        try:
            ip = Path(inp).resolve()
        except OSError:
            continue
        if ip == real:
            raise OutputFolderError(
                f"{shown}: is the input file {inp}; give a folder name for the build"
            )
        if _is_within(ip, real):
            raise OutputFolderError(
                f"{shown}: contains the input file {inp}; give a folder that does not hold "
                "the command's inputs"
            )
    if outdir.is_symlink():
        raise OutputFolderError(
            f"{shown}: is a symbolic link; give the folder it points to or a new folder"
        )
    for parent in [target, *target.parents]:
        if parent.exists() and not parent.is_dir():
            if parent == target:
                raise OutputFolderError(f"{shown}: exists and is a file; choose another folder")
            raise OutputFolderError(
                f"{shown}: {parent} is a file, so no folder can be created under it"
            )
        if parent.exists():
            break
    if outdir.is_dir():
        try:
            empty = not any(outdir.iterdir())
        except OSError as e:
            raise os_error(e, shown) from None
        if not empty:
            was = read_manifest(outdir, shown).get("content", "build")
            if content is not None and was != content:
                raise OutputFolderError(
                    f"{shown}: holds an fpgagen {was}, which the {content} would replace; "
                    "choose another folder"
                )
    return outdir


def read_manifest(outdir, shown: str | None = None) -> dict:
    """The manifest of an earlier build: ``{"files": {relpath: {"size", "sha256"}}}``."""
    outdir = Path(outdir)
    shown = shown or str(outdir)
    mpath = outdir / MANIFEST
    if not mpath.is_file():
        legacy = (outdir / "dataflow.json").is_file()
        raise OutputFolderError(
            f"{shown}: "
            + (
                "is a build by an older fpgagen without a file manifest, so fpgagen cannot "
                "tell its files from yours; move or remove it yourself, or choose another folder"
                if legacy
                else "exists, is not empty and is not an fpgagen build folder; choose another "
                "folder"
            )
        )
    try:
        m = json.loads(mpath.read_text())
        files = m["files"]
        ok = m.get("kind") == _KIND and isinstance(files, dict)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        ok = False
    if ok:
        for rel, info in files.items():
            parts = Path(rel).parts
            if (
                not isinstance(rel, str)
                or not parts
                or Path(rel).is_absolute()
                or any(p in ("..", ".") for p in parts)
                or not isinstance(info, dict)
                or not isinstance(info.get("sha256"), str)
            ):
                ok = False
                break
    if not ok:
        raise OutputFolderError(
            f"{shown}: its {MANIFEST} is damaged, so fpgagen cannot tell its files from "
            "yours; move or remove the folder yourself, or choose another folder"
        )
    return m


def _sha256(p: Path) -> str:
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _walk(root: Path) -> tuple[list[str], list[str]]:
    """Files (symbolic links included, never followed) and folders under ``root``, relative."""
    files, dirs = [], []
    for d, dnames, fnames in os.walk(root, followlinks=False):
        rel = Path(d).relative_to(root)
        for n in list(dnames):
            if (Path(d) / n).is_symlink():
                files.append(str(rel / n))
                dnames.remove(n)
            else:
                dirs.append(str(rel / n))
        files.extend(str(rel / n) for n in fnames)
    return sorted(files), sorted(dirs)


def _manifest_for(root: Path, version: str, content: str = "build") -> dict:
    files, _ = _walk(root)
    return {
        "kind": _KIND,
        "content": content,
        "fpgagen_version": version,
        "files": {
            f: {"size": (root / f).stat().st_size, "sha256": _sha256(root / f)}
            for f in files
            if f != MANIFEST
        },
    }


def record_files(outdir, paths, version: str | None = None) -> None:
    """Add files a later fpgagen step wrote into a build to its manifest (so that a rebuild
    removes them); paths are relative to ``outdir`` or absolute inside it."""
    outdir = Path(outdir)
    m = read_manifest(outdir)
    for p in paths:
        p = Path(p)
        rel = p.relative_to(outdir) if p.is_absolute() else p
        full = outdir / rel
        if full.is_file() and not full.is_symlink():
            m["files"][str(rel)] = {"size": full.stat().st_size, "sha256": _sha256(full)}
    if version:
        m["fpgagen_version"] = version
    tmp = outdir / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(m, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, outdir / MANIFEST)


_TERMINATING = (signal.SIGINT, signal.SIGTERM) + (
    (signal.SIGHUP,) if hasattr(signal, "SIGHUP") else ()
)


@contextlib.contextmanager
def _signals_deferred():
    """Hold SIGINT/SIGTERM/SIGHUP back while folders are being swapped (main thread only)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(
        signal, "pthread_sigmask"
    ):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _TERMINATING)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


@contextlib.contextmanager
def staging_folder(outdir):
    """A fresh temporary folder next to ``outdir``, removed if the body fails or is stopped.

    It holds a :data:`_STAGING_MARK` file naming this process; a staging folder of the same
    output folder whose process is gone (killed with SIGKILL, or the machine stopped) is
    removed first. Nothing else is ever removed that way."""
    outdir = Path(outdir)
    prefix = f".{outdir.name[:40]}.fpgagen-"
    try:
        outdir.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_staging(outdir.parent, prefix)
        tmp = Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=outdir.parent))
        (tmp / _STAGING_MARK).write_text(_mark())
    except OSError as e:
        raise os_error(e, str(outdir)) from None
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


#: File inside a staging folder: ``<pid> <host>`` of the process writing it.
_STAGING_MARK = ".fpgagen-staging"


def _mark() -> str:
    return f"{os.getpid()} {os.uname().nodename if hasattr(os, 'uname') else ''}"


def _remove_stale_staging(parent: Path, prefix: str) -> None:
    host = _mark().split(" ", 1)[1]
    for d in parent.glob(f"{glob_escape(prefix)}*"):
        mark = d / _STAGING_MARK
        try:
            pid_s, mhost = mark.read_text().split(" ", 1)
            pid = int(pid_s)
        except (OSError, ValueError):
            continue  # not a staging folder of ours
        if mhost != host or pid == os.getpid() or not d.name.startswith(f"{prefix}{pid}-"):
            continue
        try:
            os.kill(pid, 0)
            continue  # still running (or the pid was reused): leave it
        except ProcessLookupError:
            shutil.rmtree(d, ignore_errors=True)
        except OSError:
            continue


def glob_escape(text: str) -> str:
    """``text`` with the glob wildcards escaped."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def commit_build(tmp: Path, outdir, version: str, content: str = "build") -> list[str]:
    """Write the manifest of ``tmp`` and move it to ``outdir``, replacing an earlier build.

    Files of the earlier build that it recorded and that are unchanged are removed; all others
    are moved into the new build at the same relative path. Returns those carried-over paths.
    Raises (leaving ``outdir`` untouched) when a carried-over file would be overwritten.
    """
    outdir = Path(outdir)
    (tmp / _STAGING_MARK).unlink(missing_ok=True)
    man = _manifest_for(tmp, version, content)
    (tmp / MANIFEST).write_text(json.dumps(man, indent=1, sort_keys=True) + "\n")
    if not outdir.exists():
        with _signals_deferred():
            os.rename(tmp, outdir)
        return []
    check_output_folder(outdir)
    empty = not any(outdir.iterdir())
    old = {"files": {}} if empty else read_manifest(outdir)
    was = old.get("content", "build")
    if not empty and was != content:
        raise OutputFolderError(
            f"{outdir}: holds an fpgagen {was}, which the {content} would replace; choose "
            "another folder"
        )
    files, dirs = _walk(outdir)
    owned = {
        f
        for f in files
        if f in old["files"]
        and not (outdir / f).is_symlink()
        and _sha256(outdir / f) == old["files"][f]["sha256"]
    }
    keep = [f for f in files if f not in owned and f != MANIFEST]
    new_files, new_dirs = _walk(tmp)
    new_all = set(new_files) | set(new_dirs)
    for f in keep:
        clash = f in new_all or any(str(p) in new_files for p in Path(f).parents)
        if clash:
            why = (
                "was changed after the build" if f in old["files"] else "was not written by fpgagen"
            )
            raise OutputFolderError(
                f"{outdir / f}: {why} and the new build would overwrite it; move it away or "
                "choose another output folder"
            )
    implied = {str(p) for f in old["files"] for p in Path(f).parents if str(p) != "."}
    keep_dirs = [d for d in dirs if d not in implied and d not in new_dirs]
    for d in keep_dirs:
        if d in new_files:
            raise OutputFolderError(
                f"{outdir / d}: is a folder of yours where the new build writes a file; move "
                "it away or choose another output folder"
            )
    aside = Path(tempfile.mkdtemp(prefix=f".{outdir.name[:40]}.old.", dir=outdir.parent))
    old_dir = aside / "build"
    with _signals_deferred():
        os.rename(outdir, old_dir)
        try:
            os.rename(tmp, outdir)
        except BaseException:
            os.rename(old_dir, outdir)
            aside.rmdir()
            raise
        for d in keep_dirs:
            (outdir / d).mkdir(parents=True, exist_ok=True)
        for f in keep:
            (outdir / f).parent.mkdir(parents=True, exist_ok=True)
            os.rename(old_dir / f, outdir / f)
        for f in owned:
            (old_dir / f).unlink()
        (old_dir / MANIFEST).unlink(missing_ok=True)
        for d in sorted(dirs, key=lambda s: -len(Path(s).parts)):
            with contextlib.suppress(OSError):
                (old_dir / d).rmdir()
        try:
            old_dir.rmdir()
            aside.rmdir()
        except OSError:  # something appeared meanwhile: keep it, say where
            raise OutputFolderError(
                f"{outdir}: rebuilt, but {old_dir} still holds files that appeared during "
                "the build; look at them and remove that folder"
            ) from None
    return keep


def write_folder(
    outdir, writer, inputs=(), version: str = "", option: str = "-o", content: str = "report"
) -> list:
    """Write a whole output folder with ``writer(tmp)`` under the rules of this module
    (refusals, atomic move, manifest, the user's files kept); returns the kept files. A folder
    holding another ``content`` (e.g. a build) is not replaced."""
    outdir = check_output_folder(outdir, inputs, option, content)
    with staging_folder(outdir) as tmp:
        try:
            writer(tmp)
            return commit_build(tmp, outdir, version, content)
        except OSError as e:
            raise os_error(e, str(outdir), staging=tmp, outdir=outdir) from None

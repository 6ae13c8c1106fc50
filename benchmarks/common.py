"""What the benchmarks share: the config as
Snakemake would merge it, and this machine's matrix-multiply rate."""

import sys
import time
from pathlib import Path

import yaml

from fer_workflow.models.recipes import merge_config

REPO = Path(__file__).resolve().parent.parent
# The pictures and videos with known faces (tests/scenes.py) that the photo,
# detector and video benchmarks share with the tests.
sys.path.insert(0, str(REPO / "tests"))
import scenes  # noqa: E402, F401  (benchmarks: from common import scenes)


def load_config(configfiles=(), overrides=()):
    """config.yaml, then each preset merged over it, then ``key.sub=value``
    overrides (values parsed as YAML)."""
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    for path in configfiles:
        config = merge_config(config, yaml.safe_load(Path(path).read_text()))
    for item in overrides:
        key, value = item.split("=", 1)
        patch = node = {}
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = yaml.safe_load(value)
        config = merge_config(config, patch)
    return config


def matmul_gflops(size=1536, repeats=10):
    """float32 matmul rate through the same backend and thread pools as the
    models (the fastest of ``repeats`` products: the least disturbed by other load)."""
    import keras

    a = keras.random.normal((size, size), seed=1)
    b = keras.random.normal((size, size), seed=2)
    keras.ops.convert_to_numpy(keras.ops.matmul(a, b))  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        keras.ops.convert_to_numpy(keras.ops.sum(keras.ops.matmul(a, b)))
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def matmul_timer(size=1536, dtype="float32"):
    """A function that times one ``size`` x ``size`` matmul in ``dtype``
    (through the same backend and thread pools as the models) and returns
    its seconds; ``2 * size**3 / seconds`` is the rate. Interleaved with the
    training steps, it gives the rate the machine offered at that moment."""
    import keras

    a = keras.ops.cast(keras.random.normal((size, size), seed=1), dtype)
    b = keras.ops.cast(keras.random.normal((size, size), seed=2), dtype)

    def once():
        start = time.perf_counter()
        keras.ops.convert_to_numpy(keras.ops.sum(keras.ops.cast(keras.ops.matmul(a, b), "float32")))
        return time.perf_counter() - start

    once()  # warm-up
    return once

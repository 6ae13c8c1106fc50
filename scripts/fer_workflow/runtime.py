"""Start-up shared by every rule script: logging, threads, seeds."""

import logging
import os
import sys


def setup(snakemake, tensorflow=False):
    """Send this job's output to its log, and configure threads and seeds.

    The root logger (level INFO) writes to ``snakemake.log[0]``: the rule
    scripts report with ``logging.info`` and the library modules with
    ``logging.getLogger(__name__)``. Everything else the job writes, Keras
    progress, warnings and the traceback of an error included, goes to the
    same file (line-buffered, so each line shows as it comes) so that
    ``--show-failed-logs`` shows the cause. With ``tensorflow=True`` the TensorFlow thread pools
    follow ``snakemake.threads`` and the seed in ``snakemake.params.seed``
    (if any) seeds Python, NumPy and the backend.
    """
    if snakemake.log:
        stream = open(snakemake.log[0], "w", buffering=1)
        sys.stdout = sys.stderr = stream
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(message)s", force=True)
    if tensorflow:
        configure_backend(threads=snakemake.threads, seed=getattr(snakemake.params, "seed", None))


def configure_backend(threads=None, seed=None):
    """Set TensorFlow's thread pools and the global seed (before any model is built)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    if keras.backend.backend() == "tensorflow" and threads:
        import tensorflow as tf

        try:
            tf.config.threading.set_intra_op_parallelism_threads(int(threads))
            tf.config.threading.set_inter_op_parallelism_threads(min(2, int(threads)))
        except RuntimeError:  # already initialised in this process
            pass
    if seed is not None:
        keras.utils.set_random_seed(int(seed))

"""Rule read_data: read and validate the input (split_data counts its quality).

A bad input raises readers.DataError (file, line or image, reason) before
anything is written. Nothing is caught here: the traceback ends the log with
that message, which --show-failed-logs prints in the terminal.
"""

import logging

from fer_workflow import runtime
from fer_workflow.data import readers

runtime.setup(snakemake)
inputs = snakemake.input
logging.info("format %s: %s", snakemake.params.format, ", ".join(f"{k}={v}" for k, v in inputs.items()))
raw = readers.read(
    snakemake.params.format,
    inputs.train,
    test=inputs.get("test"),
    test_labels=inputs.get("test_labels"),
    votes=inputs.get("votes"),
)
logging.info("read %d training and %d test images", len(raw.y_train), len(raw.y_test))
if len(raw.votes_train):
    logging.info("FER+ votes of %d training and %d test images", len(raw.votes_train), len(raw.votes_test))
raw.save(snakemake.output.raw)

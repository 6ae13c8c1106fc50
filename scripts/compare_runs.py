"""Rule compare_runs: the metrics of every run under results/ in one table."""

import logging

from fer_workflow import runtime
from fer_workflow.evaluation import runs

runtime.setup(snakemake)
table = runs.compare(snakemake.input.tables, root="results")
logging.info("runs:\n%s", table.to_string(index=False))
table.to_csv(snakemake.output.csv, index=False)
with open(snakemake.output.md, "w") as f:
    f.write(runs.markdown(table))

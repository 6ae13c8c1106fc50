"""Rule summarise_timings: every job's benchmark file of this run (its
timings/ folder) in one table and one figure, for the report."""

import logging

from fer_workflow import plots, runtime, timings
from fer_workflow.plots.timings import timings_figure

runtime.setup(snakemake)

table = timings.read(snakemake.params.folder)
logging.info("%d benchmark files under %s", len(table), snakemake.params.folder)
table.to_csv(snakemake.output.table, index=False, float_format="%.2f")
plots.save(timings_figure(table, timings.machine()), snakemake.output.figure)

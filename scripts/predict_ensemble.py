"""Rule predict_ensemble: the mean probabilities of the ensemble's CNNs
(results/eval/predictions_ensemble.npz) and each member's and the
ensemble's accuracy, compared with the run's CNN (results/eval/ensemble.*)."""

import logging

from fer_workflow import arrays, data, runtime
from fer_workflow.evaluation import ensemble, tables

runtime.setup(snakemake)
params = snakemake.params
dataset = data.load(snakemake.input.dataset)
members = [arrays.load(path) for path in snakemake.input.members]
names = [f"cnn seed {seed}" for seed in [params.seed, *params.seeds]]
arrays.save(snakemake.output.predictions, ensemble.average(members))
table = ensemble.table(dataset, names, members, params.tta_flip, params.tta_shift > 0)
text = tables.markdown_table(table)
logging.info("ensemble:\n%s", text)
table.to_csv(snakemake.output.csv, index=False)
with open(snakemake.output.md, "w") as f:
    f.write(text + "\n")

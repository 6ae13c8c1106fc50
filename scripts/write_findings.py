"""Rule write_findings: every claim of the study with its number, interval,
paired test and verdict (results/findings.csv, .md, and .html for the report's
first page), from the run's own files."""

import logging

import pandas as pd

from fer_workflow import arrays, data, findings, runtime
from fer_workflow.models import record

runtime.setup(snakemake)
params, inputs = snakemake.params, snakemake.input

models = params.models
table = findings.collect(
    data.load(inputs.dataset),
    {m: arrays.load(p) for m, p in zip(models, inputs.predictions, strict=True)},
    {m: record.read(p) for m, p in zip(models, inputs.records, strict=True)},
    pd.read_csv(inputs.faithfulness),
    arrays.load(inputs.faithfulness_faces),
    params.chosen_on_validation,
    top_k=params.top_k,
    sanity_threshold=params.sanity_threshold,
    preferred_method=params.saliency_method,
    replicates=pd.read_csv(inputs.replicates) if "replicates" in inputs.keys() else None,
    agreement=pd.read_csv(inputs.agreement) if "agreement" in inputs.keys() else None,
    filter_table=pd.read_csv(inputs.filter_classes),
    filter_tests=pd.read_csv(inputs.filter_tests),
    filter_layer=params.filter_layer,
    ensemble=pd.read_csv(inputs.ensemble) if "ensemble" in inputs.keys() else None,
)
markdown = findings.markdown(table)
logging.info("findings:\n%s", markdown)
table.to_csv(snakemake.output.csv, index=False)
with open(snakemake.output.md, "w") as f:
    f.write(markdown)
with open(snakemake.output.html, "w") as f:
    f.write(findings.html_page(table))

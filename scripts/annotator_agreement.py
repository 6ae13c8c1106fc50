"""Rule annotator_agreement: the FER+ votes against the FER2013 labels and the
models' answers on the validation split (tables, findings rows, figures)."""

import logging

from fer_workflow import arrays, data, plots, runtime
from fer_workflow.findings import agreement
from fer_workflow.plots import agreement as agreement_plots

runtime.setup(snakemake)
params, output = snakemake.params, snakemake.output
dataset = data.load(snakemake.input.dataset)
predictions = {
    model: arrays.load(path) for model, path in zip(params.models, snakemake.input.predictions, strict=True)
}
result = agreement.analyse(dataset, predictions, params.top_k)
logging.info("accuracy against labels, plurality and plausible answers:\n%s", result["accuracy"].to_string())
for row in result["findings"].itertuples():
    logging.info("%s [%s] %s", row.claim_id, row.verdict, row.finding)

result["confusion"].to_csv(output.confusion, index=False)
result["pairs"].to_csv(output.pairs, index=False)
result["accuracy"].to_csv(output.accuracy, index=False)
result["findings"].to_csv(output.findings, index=False)
model = params.models[0]  # the CNN: the figures show its confusions
figure = agreement_plots.confusion_figure(
    result["annotator_counts"], result["model_counts"][model], model, "validation"
)
plots.save(figure, output.confusion_figure)
plots.save(agreement_plots.pairs_figure(result["pairs"], model), output.pairs_figure)

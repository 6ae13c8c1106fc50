"""Rule plot_confusion_matrix: the row-normalized confusion matrix of one model
on the configured split, and its most-confused class pairs."""

import logging

from fer_workflow import arrays, data, plots, runtime
from fer_workflow.evaluation import metrics, tables
from fer_workflow.plots import evaluation

runtime.setup(snakemake)

dataset = data.load(snakemake.input.dataset)
predictions = arrays.load(snakemake.input.predictions)
split = snakemake.params.split
# Fails with a message naming evaluate.split if split is test and its labels are unknown.
y_true, probs = metrics.split_labels_and_probs(dataset, predictions, split)
y_pred = probs.argmax(axis=1)
counts = metrics.confusion_counts(y_true, y_pred)
accuracy = float((y_true == y_pred).mean())
pairs = metrics.most_confused_pairs(counts, snakemake.params.top_k, split=split)
for _, pair in pairs.iterrows():
    logging.info("%s", tables.pair_sentence(pair))

figure = evaluation.confusion_matrix_figure(counts, snakemake.wildcards.model, split, accuracy)
pairs.to_csv(snakemake.output.pairs, index=False)
plots.save(figure, snakemake.output.figure)

"""Rule train_model: build the CNN or the parameter-matched DNN, train it,
write the model, its history, its record (the facts other rules read) and
its summary (the same for people)."""

import logging

from fer_workflow import runtime

runtime.setup(snakemake, tensorflow=True)  # noqa: F821 (snakemake is injected)

from fer_workflow import data, models  # noqa: E402
from fer_workflow.models import record, resume, training  # noqa: E402

params, output = snakemake.params, snakemake.output  # noqa: F821
name = snakemake.wildcards.model  # noqa: F821
# params.train: this model's recipe (train with its train_overrides merged over it).
augment = params.train["augment"]

policy = training.set_precision(params.train)
# The CNN, or the DNN with widths solved from the CNN's parameter count; any
# other name is refused (the study is a fixed pair).
model, extra, dnn = models.build_study_model(name, params.cnn, params.dnn, augment)
if dnn is not None:
    logging.info(
        "DNN widths %s: %d parameters, CNN %d",
        dnn["hidden_widths"],
        model.count_params(),
        dnn["matched_to_cnn_parameters"],
    )

dataset = data.load(snakemake.input.dataset)  # noqa: F821
history = training.train(model, dataset, params.train, params.seed, params.backup_dir)

# Saved without the training-only augmentation layer: loads with plain Keras.
models.inference_model(model).save(output.model)
history.to_csv(output.history, index=False)
facts = record.facts(
    model,
    history,
    restored_best=training.restores_best(params.train),
    flops=models.count_flops(model),
    precision_policy=policy,
    seed=params.seed,
    recipe=params.train,
    dnn=dnn,
)
record.write(facts, output.record)
with open(output.summary, "w") as f:
    f.write(training.summary_text(model, extra))
resume.clear_backup(params.backup_dir)

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
cnn = models.build_cnn(params.cnn, augment)
extra, dnn = {}, None
if name == "cnn":
    model = cnn
else:
    # The DNN's widths are solved from the CNN's parameter count.
    target = cnn.count_params()
    widths = models.match_dnn_widths(target, params.dnn["hidden_ratios"], params.dnn["batch_norm"])
    model = models.build_dnn(widths, params.dnn, augment)
    described = models.width_texts(widths, params.dnn["hidden_ratios"])
    extra = {"matched_to_cnn_parameters": target, **described}
    dnn = {
        "hidden_widths": [int(w) for w in widths],
        "hidden_ratios": [float(r) for r in params.dnn["hidden_ratios"]],
        "matched_to_cnn_parameters": int(target),
    }
    logging.info("DNN widths %s: %d parameters, CNN %d", widths, model.count_params(), target)

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

"""Train one model of a config preset outside Snakemake and report epoch time
and validation accuracy: for timing a preset on a GPU machine (it needs only
Keras and a backend, so it runs under KERAS_BACKEND=jax where TensorFlow is not
installed) and for trying recipes before writing them into a preset.

    python benchmarks/train_preset.py --raw results/data/raw.npz \
        --configfile presets/fer2013-gpu.yaml --epochs 10 --max-seconds 300

--raw is the read_data rule's output (x_train, y_train): write it first with
``snakemake --cores 2 results/data/raw.npz --configfile presets/fer2013-gpu.yaml``
(the script says so if it is missing). The validation split
is the workflow's (stratified, data.validation_fraction, seed). Prints one line
per epoch, then a JSON summary line starting with RESULT.
"""

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

from common import load_config  # noqa: E402
from fer_workflow import runtime  # noqa: E402
from fer_workflow.models import recipes  # noqa: E402


class TimeLimit:
    """Stop training after the epoch that crosses ``seconds``."""

    def __new__(cls, seconds):
        import keras

        class _TimeLimit(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                self.start = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                if time.perf_counter() - self.start > seconds:
                    self.model.stop_training = True

        return _TimeLimit()


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--raw", required=True, help="raw.npz written by the read_data rule")
    parser.add_argument("--configfile", action="append", default=[], help="preset(s) merged over config.yaml")
    parser.add_argument("--set", action="append", default=[], help="override, e.g. train.batch_size=128")
    parser.add_argument("--model", choices=["cnn", "dnn"], default="cnn")
    parser.add_argument("--epochs", type=int, help="override the model's train.epochs")
    parser.add_argument("--max-seconds", type=float, default=0, help="stop after the epoch crossing this")
    parser.add_argument("--threads", type=int, default=0, help="TensorFlow threads (0: all)")
    parser.add_argument("--label", default="", help="name printed in the RESULT line")
    parser.add_argument(
        "--save", help="write the trained model here (.keras), e.g. to try test-time augmentation"
    )
    args = parser.parse_args()
    if not Path(args.raw).is_file():
        presets = " ".join(args.configfile) or "PRESET.yaml"
        sys.exit(
            f"{args.raw}: not found. It is the read_data rule's output (the preset's data, read and "
            f"validated); write it first with\n  snakemake --cores 2 {args.raw} --configfile {presets}"
        )

    # The library logs the epoch lines (fer_workflow.models.training); they go to stdout
    # with the RESULT line, as benchmarks/gpu_presets.py reads them.
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(message)s")
    config = load_config(args.configfile, args.set)
    # The model's own recipe: train with its train_overrides merged over it.
    recipe = recipes.recipe(config, args.model)
    if args.epochs:
        recipe["epochs"] = args.epochs
    runtime.configure_backend(threads=args.threads or None, seed=config["seed"])

    import keras

    from fer_workflow import data, models
    from fer_workflow.data import readers, votes
    from fer_workflow.models import record, training

    raw = readers.Raw.load(args.raw)
    dataset, _ = data.make_dataset(
        raw.x_train,
        raw.y_train,
        raw.x_test,
        raw.y_test,
        raw.test_ids,
        config["data"]["validation_fraction"],
        config["seed"],
        config["data"]["drop_duplicates"],
        config["data"]["near_duplicate_max_diff"],
        exclude=votes.dropped_rows(raw, config["data"]["drop_not_faces"]),
    )
    dataset = votes.attach(dataset, raw.votes_train, raw.votes_test)  # for train.targets: votes

    training.set_precision(recipe)
    augment = recipe["augment"]
    model = cnn = models.build_cnn(config["cnn"], augment)
    if args.model == "dnn":
        widths = models.match_dnn_widths(
            cnn.count_params(), config["dnn"]["hidden_ratios"], config["dnn"]["batch_norm"]
        )
        model = models.build_dnn(widths, config["dnn"], augment)
    flops = models.count_flops(model)
    print(
        f"{args.label or args.model}: backend {keras.backend.backend()}, {model.count_params()} parameters, "
        f"{flops / 1e6:.1f} MFLOP forward per image, {len(dataset.y_train)} train / {len(dataset.y_val)} val",
        flush=True,
    )
    callbacks = [TimeLimit(args.max_seconds)] if args.max_seconds else []
    start = time.perf_counter()
    history = training.train(
        model,
        dataset,
        recipe,
        config["seed"],
        f"/tmp/train_preset_{args.label}",
        callbacks=callbacks,
    )
    wall = time.perf_counter() - start
    if args.save:
        model.save(args.save)
    seconds = history["seconds"].to_numpy()
    stats = record.history_stats(history, training.restores_best(recipe))
    steady = float(np.median(seconds[1:])) if len(seconds) > 1 else float(seconds[0])
    images = (
        len(dataset.y_train)
        if not recipe["steps_per_epoch"]
        else (recipe["steps_per_epoch"] * recipe["batch_size"])
    )
    result = {
        "label": args.label or args.model,
        "backend": keras.backend.backend(),
        "parameters": int(model.count_params()),
        "mflop_forward": round(flops / 1e6, 1),
        "epochs": int(len(history)),
        "first_epoch_s": round(float(seconds[0]), 2),
        "epoch_s": round(steady, 2),
        "train_images_per_s": round(images / steady, 1),
        "best_val_accuracy": round(float(history["val_accuracy"].max()), 4),
        "best_epoch": int(history["val_accuracy"].idxmax()) + 1,
        # The epoch whose weights the model ends with (--save), and whether validation chose it.
        **{k: stats[k] for k in ("kept_epoch", "epoch_chosen_on")},
        "val_accuracy_by_epoch": [round(float(v), 4) for v in history["val_accuracy"]],
        "wall_s": round(wall, 1),
    }
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()

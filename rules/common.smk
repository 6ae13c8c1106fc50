# Helpers shared by the rule files (the inputs of the data rules, and
# the artifacts that the default target asks for).
from types import SimpleNamespace

MODELS = ["cnn", "dnn"]


def has_test_data():
    """Whether the configured data has a test split to predict."""
    fmt = config["data"]["format"]
    return fmt in ("synthetic", "fer2013") or bool(config["data"]["test"])


def raw_inputs(wildcards):
    """Input files of read_data for the configured data format."""
    data = config["data"]
    if data["format"] == "synthetic":
        return {
            "train": "resources/synthetic/train.csv",
            "test": "resources/synthetic/test.csv",
            "test_labels": "resources/synthetic/test_labels.csv",
        }
    files = {"train": data["train"]}
    # fer2013.csv holds its own test rows: data.test (set by the presets for
    # the hw3 files) is ignored, as the reader ignores it.
    if data["test"] and data["format"] != "fer2013":
        files["test"] = data["test"]
    if data["test_labels"]:
        files["test_labels"] = data["test_labels"]
    return files


def mask_inputs(wildcards):
    """Ground-truth cue masks exist only for the built-in synthetic faces."""
    if config["data"]["format"] == "synthetic":
        return {"masks": "resources/synthetic/masks.npz"}
    return {}


def all_targets():
    targets = [
        "results/data/class_counts.csv",
        "results/data/data_quality.csv",
        "results/figures/samples.png",
        "results/figures/learning_curves.png",
        "results/metrics.csv",
        "results/metrics.md",
        "results/metrics.html",
        "results/eval/saliency_scores.csv",
        "results/figures/saliency.png",
        "results/eval/faithfulness.csv",
        "results/figures/faithfulness.png",
        "results/eval/saliency_regions.csv",
        "results/figures/saliency_by_class.png",
        f"results/figures/filters_{config['filters']['layer']}.png",
        f"results/figures/activations_{config['activations']['layer']}.png",
    ]
    for model in MODELS:
        targets += [
            f"results/models/{model}.keras",
            f"results/figures/confusion_matrix_{model}.png",
            f"results/eval/confused_pairs_{model}.csv",
            f"results/figures/architecture_{model}.png",
        ]
    if has_test_data():
        targets.append("results/submission.csv")
    if config["replicates"]["seeds"]:
        targets += [
            "results/replicates.csv",
            "results/replicates.md",
            "results/figures/replicates.png",
        ]
    if config.get("classify", {}).get("images"):
        classify_photo_names()  # a missing folder fails here, at start
        targets += [
            "results/classify/predictions.csv",
            "results/figures/classify_contact_sheet.png",
        ]
    return targets


# What rule classify_photo reads (case-insensitive); other files are ignored.
PHOTO_EXTENSIONS = (".jpg", ".jpeg", ".png")


def classify_photo_names():
    """File names of the JPEG and PNG photos directly in classify.images,
    sorted (none when it is empty). Hidden files are left out."""
    import os

    folder = config.get("classify", {}).get("images", "")
    if not folder:
        return []
    if not os.path.isdir(folder):
        raise ValueError(f"classify.images: {folder!r} is not a folder")
    return sorted(
        name
        for name in os.listdir(folder)
        if not name.startswith(".")
        and name.lower().endswith(PHOTO_EXTENSIONS)
        and os.path.isfile(os.path.join(folder, name))
    )


def classify_photo_path(wildcards):
    """The photo that a classify_photo job reads."""
    import os

    return os.path.join(config["classify"]["images"], wildcards.photo)

# Helpers shared by the rule files (the inputs of the data rules, and
# the artifacts that the default target asks for).
from types import SimpleNamespace

MODELS = ["cnn", "dnn"]

# Every output lies under results_dir (results/ for the built-in data; each
# preset names its own folder), so runs of different presets sit side by side.
RESULTS = config["results_dir"].rstrip("/")


def R(path):
    """``path`` inside this run's results folder (results_dir)."""
    return f"{RESULTS}/{path}"


def has_test_data():
    """Whether the configured data has a test split to predict."""
    fmt = config["data"]["format"]
    return fmt in ("synthetic", "fer2013") or bool(config["data"]["test"])


def has_votes():
    """Whether the run has FER+ votes: data.votes, or the built-in data's simulated ones."""
    return config["data"]["format"] == "synthetic" or bool(config["data"]["votes"])


def raw_inputs(wildcards):
    """Input files of read_data for the configured data format."""
    data = config["data"]
    if data["format"] == "synthetic":
        synthetic = rules.generate_synthetic.output
        return {
            "train": synthetic.train,
            "test": synthetic.test,
            "test_labels": synthetic.test_labels,
            "votes": synthetic.votes,
        }
    files = {"train": data["train"]}
    if data["votes"]:
        files["votes"] = data["votes"]
    # fer2013.csv holds its own test rows: data.test (set by the presets for
    # the label_feature_csv files) is ignored, as the reader ignores it.
    if data["test"] and data["format"] != "fer2013":
        files["test"] = data["test"]
    if data["test_labels"]:
        files["test_labels"] = data["test_labels"]
    return files


def mask_inputs(wildcards):
    """Ground-truth cue masks exist only for the built-in synthetic faces."""
    if config["data"]["format"] == "synthetic":
        return {"masks": rules.generate_synthetic.output.masks}
    return {}


def all_targets():
    targets = [
        R("data/class_counts.csv"),
        R("data/data_quality.csv"),
        R("figures/samples.png"),
        R("figures/learning_curves.png"),
        R("metrics.csv"),
        R("metrics.md"),
        R("metrics.html"),
        R("eval/saliency_scores.csv"),
        R("figures/saliency.png"),
        R("eval/faithfulness.csv"),
        R("figures/faithfulness.png"),
        R("eval/cascading_randomisation.csv"),
        R("figures/cascading_randomisation.png"),
        R("eval/saliency_regions.csv"),
        R("figures/saliency_by_class.png"),
        R(f"figures/filters_{config['filters']['layer']}.png"),
        R(f"figures/activations_{config['activations']['layer']}.png"),
        R("findings.csv"),
        R("findings.md"),
        R("findings.html"),
    ]
    for model in MODELS:
        targets += [
            R(f"models/{model}.keras"),
            R(f"figures/confusion_matrix_{model}.png"),
            R(f"eval/confused_pairs_{model}.csv"),
            R(f"figures/architecture_{model}.png"),
        ]
    if has_test_data():
        targets.append(R("submission.csv"))
    if has_votes():
        targets += list(rules.annotator_agreement.output)
    if config["replicates"]["seeds"]:
        targets += [
            R("replicates.csv"),
            R("replicates.md"),
            R("figures/replicates.png"),
        ]
    if config.get("classify", {}).get("images"):
        classify_photo_names()  # a missing folder fails here, at start
        targets += [
            R("classify/predictions.csv"),
            R("figures/classify_contact_sheet.png"),
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


def optional_findings_inputs(wildcards):
    """The replicate table (with replicate seeds) and the annotators' claims (with votes)."""
    files = {}
    if config["replicates"]["seeds"]:
        files["replicates"] = rules.aggregate_replicates.output.csv
    if has_votes():
        files["agreement"] = rules.annotator_agreement.output.findings
    return files

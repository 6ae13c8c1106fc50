# Helpers shared by the rule files (the inputs of the data rules, and
# the artifacts that the default target asks for).
from types import SimpleNamespace

from snakemake.exceptions import WorkflowError
from snakemake.logging import logger

from fer_workflow import MODEL_NAMES
from fer_workflow.explain import saliency
from fer_workflow.use import photos, shipped

# The study's fixed pair (docs/development.md, "Adding a model").
MODELS = list(MODEL_NAMES)

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


def for_model(pattern, model):
    """A rule's ``{model}`` output ``pattern`` for ``model`` (one path)."""
    return expand(pattern, model=model)[0]


def for_cnn(pattern):
    """A rule's ``{model}`` output ``pattern`` for the CNN (the model explained)."""
    return for_model(pattern, "cnn")


# The saliency methods' knobs (config saliency.*): one dict for every rule that
# computes maps, passed as is to fer_workflow.explain.saliency.compute (same
# names; each method in its REGISTRY owns its own).
def saliency_method_options():
    """The saliency method's knobs, {config name: value}."""
    return {key: config["saliency"][key] for key in saliency.KNOBS}


# The filter images' gradient-ascent knobs (config filters.*), passed as is to
# fer_workflow.explain.filters.ascend (same names).
FILTER_ASCENT_KNOBS = (
    "steps",
    "learning_rate",
    "jitter",
    "rotation",
    "tv_weight",
    "l2_weight",
    "blur_every",
    "blur_sigma",
    "start_noise",
    "border",
)


def filter_ascent_options():
    """The filter ascent's knobs, {config name: value}."""
    return {key: config["filters"][key] for key in FILTER_ASCENT_KNOBS}


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
            R(f"figures/reliability_{model}.png"),
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
    if config["ensemble"]["seeds"]:
        targets += [R("eval/ensemble.csv"), R("eval/ensemble.md")]
    if config.get("classify", {}).get("images"):
        classify_photo_names()  # a missing folder fails here, at start
        if classify_warning():
            logger.warning(classify_warning())
        targets += [
            R("classify/predictions.csv"),
            R("figures/classify_contact_sheet.png"),
        ]
    return targets


_PHOTOS = {}


def classify_photos():
    """``{name: path}`` of the photos classify.images names: folders, files and
    glob patterns (fer_workflow.use.photos.list_photos), listed once per run. A
    missing folder or a pattern without a photo fails at start, naming it."""
    if "photos" not in _PHOTOS:
        try:
            _PHOTOS["photos"] = photos.list_photos(config["classify"]["images"])
        except ValueError as error:
            raise WorkflowError(str(error)) from None
    return _PHOTOS["photos"]


def classify_photo_names():
    """File names of the photos to classify, sorted (none when classify.images is empty)."""
    return list(classify_photos())


def classify_photo_path(wildcards):
    """The photo that a classify_photo job reads."""
    return classify_photos()[wildcards.photo]


def classify_model():
    """The model photos are classified with: the shipped FER2013 CNN unless
    classify.model names another (fer_workflow.use.shipped.resolve): path,
    calibration file (None: uncalibrated), data it was trained on, description."""
    try:
        return shipped.resolve(
            config["classify"],
            R("models/cnn.keras"),
            R("eval/calibration_cnn.json"),
            config["data"]["format"],
        )
    except ValueError as error:
        raise WorkflowError(str(error)) from None


def classify_model_inputs(wildcards):
    """The model file and, where it has one, the file holding its temperature."""
    choice = classify_model()
    files = {"model": choice["model"]}
    if choice["calibration"]:
        files["calibration"] = choice["calibration"]
    return files


def classify_warning():
    """'' for a model trained on real faces, else the warning for the log and the contact sheet."""
    choice = classify_model()
    return shipped.warning(
        choice["data"], choice["description"], choice.get("problem", "")
    )


def optional_findings_inputs(wildcards):
    """The replicate table (with replicate seeds), the annotators' claims (with
    votes) and the ensemble's table (with ensemble seeds)."""
    files = {}
    if config["replicates"]["seeds"]:
        files["replicates"] = rules.aggregate_replicates.output.csv
    if has_votes():
        files["agreement"] = rules.annotator_agreement.output.findings
    if config["ensemble"]["seeds"]:
        files["ensemble"] = rules.predict_ensemble.output.csv
    return files

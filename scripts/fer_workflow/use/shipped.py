"""The model that ships with the workflow, and which model classifies photos.

``resources/models/fer2013_cnn.keras`` is the CNN of ``presets/fer2013-cpu.yaml``
trained on FER2013, saved in float32 without optimizer state (it loads with
``keras.saving.load_model`` alone), with its record beside it
(``fer2013_cnn.json``: how it was trained, on what, its validation scores,
its temperature). ``classify.model`` empty means that model; otherwise it
names another ``.keras`` file: this run's own ``models/cnn.keras`` (then
the workflow trains it, and its temperature comes from this run's
``eval/calibration_cnn.json``), another run's, or any standalone file.

What a model was trained on decides whether photos get a warning: a model
trained on the built-in synthetic faces has learnt drawn brows and mouths,
not faces, and its answers on photos are noise. ``provenance`` says what is
known; ``warning`` turns it into the sentence that the log and the contact
sheet show. Keras-free except ``float32_copy``.
"""

import hashlib
import json
import logging
import os

log = logging.getLogger(__name__)

SHIPPED_MODEL = "resources/models/fer2013_cnn.keras"
SHIPPED_RECORD = "resources/models/fer2013_cnn.json"

# What the data of a model is known to be.
REAL, SYNTHETIC, UNKNOWN = "real", "synthetic", "unknown"


def record_path(model_path):
    """The record that sits beside a ``.keras`` file (``x.keras`` -> ``x.json``)."""
    root, _ = os.path.splitext(str(model_path))
    return root + ".json"


def run_calibration_path(model_path):
    """Where a run keeps the calibration of ``<run>/models/<m>.keras``:
    ``<run>/eval/calibration_<m>.json`` (None for a path outside a run's models/)."""
    folder, name = os.path.split(os.path.normpath(str(model_path)))
    if os.path.basename(folder) != "models" or not name.endswith(".keras"):
        return None
    return os.path.join(os.path.dirname(folder), "eval", f"calibration_{name[: -len('.keras')]}.json")


def sha256(path, chunk=1 << 20):
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def read_record(path):
    with open(path) as f:
        return json.load(f)


def resolve(config, own_model, own_calibration, own_data_format):
    """Which model classifies photos, and where its temperature and provenance come from.

    ``config`` is the ``classify`` section; ``own_model`` this run's CNN
    (``R("models/cnn.keras")``), ``own_calibration`` its calibration file and
    ``own_data_format`` this run's ``data.format``. Returns a dict:
    ``model`` (path), ``calibration`` (a JSON file holding ``temperature``,
    or None: uncalibrated, T = 1), ``data`` (REAL, SYNTHETIC or UNKNOWN) and
    ``description`` (what the log and the contact sheet call the model).
    Raises ValueError naming ``classify.model`` for a missing file that this
    run does not make.
    """
    model = str(config.get("model") or "")
    if not model:
        record = SHIPPED_RECORD
        return {
            "model": SHIPPED_MODEL,
            "calibration": record,
            "data": REAL,
            "description": "the shipped FER2013 CNN (resources/models/fer2013_cnn.keras)",
        }
    if os.path.normpath(model) == os.path.normpath(own_model):
        synthetic = own_data_format == "synthetic"
        return {
            "model": own_model,
            "calibration": own_calibration,
            "data": SYNTHETIC if synthetic else REAL,
            "description": f"this run's CNN ({own_model}, data.format {own_data_format})",
        }
    if not model.endswith(".keras"):
        raise ValueError(f"classify.model: {model!r} is not a .keras file")
    if not os.path.isfile(model):
        raise ValueError(f"classify.model: {model!r} does not exist (and this run does not make it)")
    calibration, data, problems = None, UNKNOWN, []
    for candidate in (record_path(model), run_calibration_path(model)):
        if candidate and os.path.isfile(candidate):
            try:
                record = read_record(candidate)
            except (OSError, ValueError) as error:
                problems.append(malformed_record(candidate, error))
                continue
            if isinstance(record, dict) and ("temperature" in record or "calibration" in record):
                calibration = candidate
                break
    beside = record_path(model)
    if os.path.isfile(beside) and not any(beside in p for p in problems):
        record = read_record(beside)
        data = data_of_record(record) if isinstance(record, dict) else UNKNOWN
    return {
        "model": model, "calibration": calibration, "data": data, "description": model,
        "problem": " ".join(problems),
    }  # fmt: skip


def malformed_record(path, error):
    """The warning for a record beside a model that cannot be read: logged at
    WARNING here (the terminal, when the Snakefile resolves the model) and
    returned for the job's log and the contact sheet (``warning``)."""
    message = (
        f"WARNING: {path} is not a readable JSON record ({error}); the model is used uncalibrated "
        "(T = 1) and its training data is unknown. Fix or remove the file."
    )
    log.warning("%s", message)
    return message


def data_of_record(record):
    """REAL, SYNTHETIC or UNKNOWN from a model record's ``data`` entry (if any)."""
    data = record.get("data")
    fmt = data.get("format") if isinstance(data, dict) else data
    if not fmt:
        return UNKNOWN
    return SYNTHETIC if str(fmt) == "synthetic" else REAL


def temperature(path):
    """T from a calibration record (``temperature``) or a model record
    (``calibration.temperature``); 1.0 for None (uncalibrated)."""
    from fer_workflow.evaluation.calibration import checked_temperature

    if not path:
        return 1.0
    record = read_record(path)
    value = record["calibration"].get("temperature") if "calibration" in record else record.get("temperature")
    return checked_temperature(value, path)


def warning(data, description, problem=""):
    """The sentence the log and the contact sheet show, or '' for a model
    trained on real faces; ``problem`` (``resolve``'s, a malformed record) first."""
    if problem:
        return " ".join(filter(None, [problem, warning(data, description)]))
    if data == SYNTHETIC:
        return (
            f"WARNING: {description} was trained on the built-in synthetic faces, not on photos of people: "
            "its expressions on real photos mean nothing. Leave classify.model empty for the shipped FER2013 model."
        )
    if data == UNKNOWN:
        return (
            f"Note: nothing beside {description} says what it was trained on "
            "(no record with a 'data' entry); check that it was real faces."
        )
    return ""


def float32_copy(model):
    """A copy of ``model`` that computes in float32 (a model trained with a
    mixed policy keeps float32 weights, so the weights are copied as they are),
    uncompiled: saved, it has no optimizer state."""
    import keras

    def as_float32(layer):
        config = layer.get_config() | {"dtype": "float32"}
        return layer.__class__.from_config(config)

    clone = keras.models.clone_model(model, clone_function=as_float32)
    for layer in model.layers:
        if layer.weights:
            clone.get_layer(layer.name).set_weights(layer.get_weights())
    return clone

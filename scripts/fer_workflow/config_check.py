"""Config mistakes caught when the workflow starts, before any job runs.

Called by the Snakefile while it is parsed, so nothing here imports Keras or
TensorFlow (start-up stays fast). Three steps:

1. ``coerce(config, schema)``: numbers and booleans written as strings become
   numbers and booleans where the schema wants them. PyYAML reads ``1e-3``
   (no dot) as a string, and ``--config 'train={epochs: 3}'`` delivers every
   value inside the braces as a string.
2. ``validate(config, schema)``: the JSON schema, with a short message per
   problem naming the key path and what the key means (its ``description``
   in the schema; for an unknown key, the closest valid key) instead of
   jsonschema's dump of the whole schema.
3. ``problems(config)``: values the schema cannot judge alone and that would
   otherwise fail only after training: layer names the configured CNN does
   not have, a test split without test labels, missing input files, a CNN
   that pools the image away, a DNN that cannot be matched to the CNN.

Values that need the data (an ``activations.image_index`` beyond the
validation split) are checked by ``check_dataset`` in the split_data job.
"""

import difflib
import math
import os

from fer_workflow import IMAGE_SIZE, conv_layer_name
from fer_workflow.data.readers import canonical_format
from fer_workflow.models import sizing


class ConfigError(ValueError):
    """A config mistake; the message names the key(s)."""


# ---- 1. strings that are numbers -----------------------------------------------------


def _resolve(schema, root):
    """Follow a local ``$ref`` (``#/$defs/name``)."""
    while isinstance(schema, dict) and "$ref" in schema:
        node = root
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def _coerce_scalar(value, types):
    if "integer" in types or "number" in types:
        try:
            return int(value)
        except ValueError:
            pass
    if "number" in types:
        try:
            number = float(value)
        except ValueError:
            return value
        # 'nan' and 'inf' stay strings, which the schema rejects.
        return number if math.isfinite(number) else value
    if "boolean" in types and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return value


def coerce(config, schema, _root=None):
    """Turn numeric (and true/false) strings into numbers (booleans) where the
    schema asks for them; in place, returns ``config``. Other values are left
    for the schema to reject."""
    root = schema if _root is None else _root
    schema = _resolve(schema, root)
    if isinstance(config, dict):
        props = schema.get("properties", {})
        for key, value in config.items():
            if key not in props:
                continue
            sub = _resolve(props[key], root)
            types = sub.get("type", [])
            types = [types] if isinstance(types, str) else types
            if isinstance(value, str) and {"integer", "number", "boolean"} & set(types):
                config[key] = _coerce_scalar(value, types)
            else:
                coerce(value, sub, root)
    elif isinstance(config, list) and "items" in schema:
        items = _resolve(schema["items"], root)
        types = items.get("type", [])
        types = [types] if isinstance(types, str) else types
        for i, value in enumerate(config):
            if isinstance(value, str) and {"integer", "number", "boolean"} & set(types):
                config[i] = _coerce_scalar(value, types)
            else:
                coerce(value, items, root)
    return config


# ---- 2. schema errors, short -----------------------------------------------------------


def key_path(parts):
    """``["cnn", "blocks", 0, "filters"]`` -> ``cnn.blocks[0].filters``."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def description_at(schema, parts):
    """What the key at ``parts`` (a path as for ``key_path``) means: the
    ``description`` of its schema, or the nearest enclosing key's where it
    has none (a list item, say). None for the top level or an unknown key.
    Read before ``$ref`` is followed, so a key written ``{$ref: ..., description: ...}``
    keeps its own description rather than the shared definition's."""
    node, found = schema, None
    for part in parts:
        node = _resolve(node, schema)
        if isinstance(part, int):
            node = node.get("items")
        else:
            node = node.get("properties", {}).get(part, node.get("additionalProperties"))
        if not isinstance(node, dict):
            return None
        found = node.get("description") or found
    return found


def _required_key(error):
    """The key a ``required`` error says is missing."""
    return next(k for k in error.validator_value if error.message == f"{k!r} is a required property")


def _unknown_keys(error):
    """One line per key that additionalProperties rejects, with a suggestion."""
    valid = sorted(error.schema.get("properties", {}))
    where = key_path(error.absolute_path) if error.absolute_path else "the config"
    lines = []
    for key in sorted(set(error.instance) - set(valid)):
        path = key_path([*error.absolute_path, key])
        close = difflib.get_close_matches(str(key), valid, n=1, cutoff=0.5)
        hint = f" did you mean `{close[0]}`?" if close else ""
        lines.append(f"{path}: unknown key;{hint} (keys of {where}: {', '.join(valid)})")
    return lines


def _short(error, schema):
    if error.validator == "additionalProperties":
        return _unknown_keys(error)
    message, path = error.message, list(error.absolute_path)
    if error.validator == "required":  # name the missing key, and say what it means
        path.append(_required_key(error))
        message = "missing (required key)"
    if len(message) > 200:
        message = message[:200] + " ..."
    line = f"{key_path(path)}: {message}"
    if error.validator == "enum" and isinstance(error.instance, str):
        close = difflib.get_close_matches(
            error.instance, list(map(str, error.validator_value)), n=1, cutoff=0.5
        )
        line += f"; did you mean `{close[0]}`?" if close else ""
    description = description_at(schema, path)
    if description:
        line += f" -- {description}"
    return [line]


def schema_errors(config, schema):
    """Short messages (one per problem, naming the key path) for ``config``."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    lines = []
    for error in sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path))):
        # An if/then failure repeats as the inner error; keep the inner one.
        if error.validator in ("if", "then"):
            continue
        lines += _short(error, schema)
    return list(dict.fromkeys(lines))


def validate(config, schema):
    """Raise ConfigError with the short messages if ``config`` breaks ``schema``."""
    lines = schema_errors(config, schema)
    if lines:
        raise ConfigError(
            "Error validating config file (config.yaml with --configfile/--config overrides):\n  "
            + "\n  ".join(lines)
        )


# ---- 3. what only fails later ----------------------------------------------------------


def config_conv_layer_names(cnn):
    """The conv layer names ``models.build_cnn(cnn)`` will give (no model built yet;
    ``fer_workflow.conv_layer_names`` lists a built model's)."""
    return [conv_layer_name(i, j) for i, b in enumerate(cnn["blocks"], 1) for j in range(1, b["convs"] + 1)]


def synthetic_validation_size(config):
    """Validation images of the built-in data (n_train split by class as the
    generator does, then ``data.stratified_split``'s per-class rounding)."""
    from fer_workflow.data.synthetic import class_counts

    fraction = config["data"]["validation_fraction"]
    total = 0
    for n in class_counts(config["synthetic"]["n_train"]).tolist():
        k = int(round(fraction * n))
        total += min(max(k, 1), n - 1) if n >= 2 else k
    return total


def _layer_problems(config):
    cnn = config["cnn"]
    names = config_conv_layer_names(cnn)
    out = []
    for key in ("filters", "activations"):
        layer = config[key]["layer"]
        if layer not in names:
            out.append(
                f"{key}.layer: the configured CNN has no layer {layer!r} "
                f"({len(cnn['blocks'])} blocks); its conv layers are {', '.join(names)}"
            )
    layer = config["saliency"]["gradcam_layer"]
    if layer != "last" and layer not in names:
        out.append(
            f"saliency.gradcam_layer: the configured CNN has no layer {layer!r} "
            f"({len(cnn['blocks'])} blocks); its conv layers are {', '.join(names)}"
        )
    layer = config["filters"]["layer"]
    if layer in names:
        block = int(layer.split("_")[0][len("block") :])
        channels = cnn["blocks"][block - 1]["filters"]
        if config["filters"]["n_filters"] > channels:
            out.append(
                f"filters.n_filters: {config['filters']['n_filters']} is more than the "
                f"{channels} filters of {layer} (cnn.blocks[{block - 1}].filters)"
            )
    return out


def _architecture_problems(config):
    cnn, out = config["cnn"], []
    size = IMAGE_SIZE
    for i, block in enumerate(cnn["blocks"]):
        size //= block["pool"]
        if size < 1:
            out.append(
                f"cnn.blocks[{i}].pool: the {IMAGE_SIZE}x{IMAGE_SIZE} image is pooled to nothing by "
                f"block {i + 1} (pools {[b['pool'] for b in cnn['blocks'][: i + 1]]}); "
                "use pool 1 or fewer blocks"
            )
            return out  # the parameter count below needs a positive size
    try:
        sizing.check_config(config)
    except ValueError as error:
        out.append(f"dnn.hidden_ratios: {error}")
    return out


def has_test_labels(config):
    """(whether the configured data has test labels, why not if it has none)."""
    data = config["data"]
    fmt = canonical_format(data["format"])
    if fmt == "synthetic":
        if config["synthetic"]["n_test"] == 0:
            return False, "synthetic.n_test is 0"
        return True, ""
    if fmt == "fer2013":
        return True, ""  # PublicTest/PrivateTest rows are labelled (checked again in split_data)
    if not data["test"]:
        return False, "data.test is empty"
    if fmt == "label_feature_csv":
        return (True, "") if data["test_labels"] else (False, "data.test_labels is empty")
    # folder: labelled when every test image sits in a class folder
    test = data["test"]
    if data["test_labels"] or not os.path.isdir(test):
        return True, ""  # a missing folder is reported by itself
    loose = [e for e in os.scandir(test) if e.is_file() and not e.name.startswith(".")]
    if loose:
        return False, f"{test} has images outside class folders (e.g. {loose[0].name})"
    return True, ""


def _data_problems(config):
    data, out = config["data"], []
    fmt = data["format"]
    if fmt == "synthetic":
        return out
    keys = ["train", "test_labels"] if fmt == "fer2013" else ["train", "test", "test_labels"]
    for key in keys:
        path = data[key]
        if not path:
            continue
        if not os.path.exists(path):
            out.append(f"data.{key}: {path} not found (relative paths start at {os.getcwd()})")
        elif fmt == "folder" and key != "test_labels" and not os.path.isdir(path):
            out.append(f"data.{key}: {path} is not a folder (format folder wants <folder>/<class>/*.png)")
        elif (fmt != "folder" or key == "test_labels") and os.path.isdir(path):
            out.append(f"data.{key}: {path} is a folder, format {fmt} wants a CSV file")
    if data["test_labels"] and not data["test"] and canonical_format(fmt) in ("label_feature_csv", "folder"):
        out.append("data.test_labels: given, but data.test is empty (labels of which test set?)")
    return out


def _votes_problems(config):
    """data.votes: a file, for a format whose images are in file order; what needs votes."""
    data, out = config["data"], []
    fmt, path = canonical_format(data["format"]), data.get("votes", "")
    if path and fmt != "synthetic":
        if not os.path.exists(path):
            out.append(f"data.votes: {path} not found (relative paths start at {os.getcwd()})")
        elif os.path.isdir(path):
            out.append(f"data.votes: {path} is a folder; it should be a FER+ CSV file (fer2013new.csv form)")
        if fmt == "folder":
            out.append(
                "data.votes: votes are matched to images by their position in the file, but format folder "
                "orders images by class and file name; use format label_feature_csv or fer2013"
            )
    if fmt == "synthetic" or path:
        return out
    needs = "needs FER+ votes, but data.votes is empty (and the data is not the built-in synthetic faces)"
    for key in ["train", *(f"train_overrides.{m}" for m in config.get("train_overrides", {}))]:
        group = config["train"] if key == "train" else config["train_overrides"][key.split(".")[1]]
        if (group or {}).get("targets") == "votes":
            out.append(f"{key}.targets: votes {needs}; set data.votes or use targets: labels")
    if data.get("drop_not_faces"):
        out.append(f"data.drop_not_faces: {needs}; set data.votes or drop_not_faces: false")
    return out


def _evaluate_problems(config):
    if config["evaluate"]["split"] != "test":
        return []
    labelled, why = has_test_labels(config)
    if labelled:
        return []
    return [f"evaluate.split: 'test' needs test labels, but {why}; use 'validation' or give test labels"]


def _synthetic_problems(config):
    if config["data"]["format"] != "synthetic":
        return []
    n_val = synthetic_validation_size(config)
    index = config["activations"]["image_index"]
    if index >= n_val:
        return [
            f"activations.image_index: {index} is past the validation split of the built-in data "
            f"({n_val} images, so 0..{n_val - 1})"
        ]
    return []


def _ensemble_problems(config):
    seeds = config.get("ensemble", {}).get("seeds", [])
    out = []
    if config["predict"]["model"] == "ensemble" and not seeds:
        out.append("predict.model: 'ensemble' needs ensemble.seeds (the other members' seeds)")
    if config["seed"] in seeds:
        out.append(
            f"ensemble.seeds: {config['seed']} is the run's own seed (its CNN is already the first member)"
        )
    return out


def problems(config):
    """Every value of a schema-valid ``config`` that would fail in a later job."""
    return (
        _layer_problems(config)
        + _architecture_problems(config)
        + _data_problems(config)
        + _votes_problems(config)
        + _evaluate_problems(config)
        + _synthetic_problems(config)
        + _ensemble_problems(config)
    )


def check(config, schema):
    """The start-up check: coerce, validate against the schema (a dict or a
    YAML file), then look for values that would fail later. Raises
    ConfigError naming every bad key."""
    if not isinstance(schema, dict):
        import yaml

        with open(schema) as f:  # libyaml's parser where present: 10x faster
            schema = yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    coerce(config, schema)
    validate(config, schema)
    found = problems(config)
    if found:
        raise ConfigError("Config values that would fail later:\n  " + "\n  ".join(found))
    return config


# ---- after reading the data (split_data) ---------------------------------------------


def check_dataset(dataset, image_index, evaluate_split):
    """Config values that only the data can judge; raises ConfigError."""
    found = []
    n_val = len(dataset.y_val)
    if image_index >= n_val:
        found.append(
            f"activations.image_index: {image_index} is past the validation split "
            f"({n_val} images, so 0..{n_val - 1})"
        )
    if evaluate_split == "test" and not dataset.has_test_labels:
        found.append(
            f"evaluate.split: 'test' needs test labels, but the {len(dataset.y_test)} test images "
            "have none; use 'validation' or give data.test_labels"
        )
    if found:
        raise ConfigError("Config values that do not fit the data:\n  " + "\n  ".join(found))

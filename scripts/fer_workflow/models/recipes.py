"""Each model's training recipe: the shared ``train:`` group with that model's
``train_overrides.<model>`` merged over it.

The one place that says what a model trains with: the train_model and
train_replicate rules' params (so the record and the backup's fingerprint see
it too) and benchmarks/train_preset.py all ask ``recipe``. Keras-free: the
Snakefile calls it while it is parsed, so it is not in ``training``.
"""

import copy


def recipe(config, model):
    """The training recipe of ``model`` (cnn or dnn): ``config["train"]`` with
    ``config["train_overrides"][model]`` deep-merged over it (nested groups such
    as ``augment`` merge key by key, other values are replaced). Without an
    override it equals ``train``. A new dict; ``config`` is left as it is."""
    overrides = (config.get("train_overrides") or {}).get(model) or {}
    return copy.deepcopy(merge_config(config["train"], overrides))


# Also the one merge that tests/conftest.py and benchmarks/common.py use (for the
# rules, Snakemake merges configs itself).
def merge_config(base, overrides):
    """Recursive merge of config dicts, as Snakemake merges --configfile over
    config.yaml: nested dicts merge, everything else (lists too) is replaced."""
    out = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_config(out[key], value)
        else:
            out[key] = value
    return out

# FER workflow: CNN vs. parameter-matched DNN on FER2013-style faces,
# and what the CNN looks at. See README.md; every knob is in config.yaml.
from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config.yaml"


validate(config, "config.schema.yaml")


report: "report/workflow.rst"


include: "rules/common.smk"


wildcard_constraints:
    model="|".join(MODELS),


include: "rules/data.smk"
include: "rules/train.smk"
include: "rules/evaluate.smk"
include: "rules/explain.smk"
include: "rules/classify.smk"


rule all:
    default_target: True
    input:
        all_targets(),

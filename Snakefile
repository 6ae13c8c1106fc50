# FER workflow: CNN vs. parameter-matched DNN on FER2013-style faces,
# and what the CNN looks at. See README.md; every knob is in config.yaml.
import atexit
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version, validate

min_version("9.0")

from fer_workflow import config_check, failures
from fer_workflow.models import recipes
from fer_workflow.evaluation import runs


configfile: "config.yaml"


# Start-up check (scripts/fer_workflow/config_check.py): numbers given as
# strings are coerced, a schema error is one short line naming the key and
# what it means (its schema description), and values that would only fail
# after training are rejected now.
try:
    config_check.check(config, Path(workflow.basedir) / "config.schema.yaml")
except config_check.ConfigError as error:
    raise WorkflowError(str(error)) from None


validate(config, "config.schema.yaml")


report: "report/workflow.rst"


include: "rules/common.smk"


wildcard_constraints:
    model="|".join(MODELS),


include: "rules/data.smk"
include: "rules/train.smk"
include: "rules/evaluate.smk"
include: "rules/agreement.smk"
include: "rules/explain.smk"
include: "rules/replicates.smk"
include: "rules/ensemble.smk"
include: "rules/classify.smk"
include: "rules/video.smk"
include: "rules/export.smk"
include: "rules/findings.smk"
include: "rules/report.smk"


rule all:
    default_target: True
    input:
        all_targets(),
        video_targets(),
        rules.summarise_timings.output,


# The cause of a failure as the run's last words: each failed job's rule and
# the end of its log, printed when Snakemake exits (after its own last line,
# "At least one job did not complete successfully").
onerror:
    atexit.register(
        print, failures.summary(failures.failed_jobs(workflow)), file=sys.stderr
    )

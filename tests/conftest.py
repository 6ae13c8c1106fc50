"""Shared test fixtures: tiny configs, and a helper
that runs the workflow with Snakemake in a temporary copy of the repo."""

import copy
import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from fer_workflow.models import recipes

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# Tolerance for float32 results computed two ways (other batch sizes, batched vs.
# one at a time, saved vs. rebuilt): oneDNN picks different kernels on Intel and
# AMD CPUs and with AVX-512, which changes the last digits (5.9e-5 relative was
# seen on an AMD EPYC with AVX-512 between batch sizes 2 and 64).
ONEDNN = {"rtol": 5e-4, "atol": 1e-6}


def data_copy(name, first_file):
    """The folder of data set ``name`` (fer2013, ferplus) that holds ``first_file``:
    the user's resources/<name>/ (where the README says to link the files),
    else ../shared/data/<name> next to the clone or next to its folder of
    worktrees; None when there is none (the tests that need it skip)."""
    places = [REPO / "resources" / name] + [
        d / "shared" / "data" / name for d in (REPO.parent, REPO.parent.parent)
    ]
    return next((place for place in places if (place / first_file).is_file()), None)


# System packages (Debian's slurm-wlm and munge, chromium) are installed with
# apt-get only when asked: FER_INSTALL_SYSTEM_PACKAGES=1 (.ci/run sets it).
# Without it, a test that needs a missing one skips and says so.
INSTALL_SYSTEM_PACKAGES = os.environ.get("FER_INSTALL_SYSTEM_PACKAGES") == "1"


def not_installed(what):
    """The skip message of a test that needs system package(s) ``what``, missing here."""
    return (
        f"{what} not installed; set FER_INSTALL_SYSTEM_PACKAGES=1 to let the tests install it "
        "with apt-get (needs root; .ci/run sets it)"
    )


# Real data for the tests that use it, and where they look (for skip messages).
FER2013 = data_copy("fer2013", "train.csv.gz")
FERPLUS = data_copy("ferplus", "fer2013new_training.csv")
WHERE = "resources/{0}/ or ../shared/data/{0}"

# Files a workflow run needs; copied into each temporary work directory.
WORKFLOW_FILES = [
    "Snakefile",
    "config.yaml",
    "config.schema.yaml",
    "rules",
    "scripts",
    "report",
    "envs",
    "profiles",
    # the shipped model that classify.images uses by default
    "resources/models",
]

# Overrides that make the whole default workflow run in well under a minute.
TINY = {
    "synthetic": {"n_train": 420, "n_test": 70},
    "samples": {"per_class": 2},
    "cnn": {
        "blocks": [
            {"filters": 8, "convs": 1, "kernel": 3, "batch_norm": True, "pool": 2, "dropout": 0.0},
            {"filters": 12, "convs": 1, "kernel": 3, "batch_norm": True, "pool": 2, "dropout": 0.0},
        ],
        "head_pool": "flatten",
        # 37,479 parameters: the DNN 16-8-4 (1 : 0.5 : 0.25) is within 1% (at 16, no DNN was).
        "dense": [21],
    },
    # float32 whatever the CPU (the default, auto, is bfloat16 on one with
    # AVX512_BF16): the tests' tolerances are float32's; test_explain_workflow
    # runs the whole workflow again with a float16 CNN and a bfloat16 DNN.
    "train": {"epochs": 2, "batch_size": 32, "mixed_precision": False},
    "saliency": {
        "n_images": 3,
        "smooth_samples": 2,
        "ig_steps": 4,
        "faithfulness": {"n_images": 10, "steps": 4, "road_fractions": [0.3, 0.6]},
        "cascading": {"n_images": 3},
        "by_class": {"max_per_class": 5},
    },
    "filters": {"layer": "block2_conv1", "n_filters": 4, "steps": 3},
    "activations": {"layer": "block1_conv1", "max_maps": 8},
    # Shift TTA on, so the tiny run predicts and scores the shifted views too.
    "predict": {"tta_shift": 1},
}


def merge(base, overrides):
    """Recursive dict merge, as Snakemake merges --configfile over config.yaml."""
    return copy.deepcopy(recipes.merge_config(base, overrides))


def load_module(path):
    """The Python file ``path`` (relative to the repository) as a module, for
    the tests of benchmarks/ and docs/ scripts (folders that are no package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(Path(path).stem, REPO / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def default_config():
    return yaml.safe_load((REPO / "config.yaml").read_text())


def tiny_config(**overrides):
    """The default config with TINY and then ``overrides`` merged in."""
    return merge(merge(default_config(), TINY), overrides)


# The jobs a run adds to whatever reran: the default target, and the timings
# summary (it reads every job's benchmark, so it follows any rerun).
END_OF_RUN = {"all": 1, "summarise_timings": 1}


class Workflow:
    """A copy of the workflow in a temporary directory, run with Snakemake."""

    def __init__(self, root):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        for name in WORKFLOW_FILES:
            src = REPO / name
            if src.is_dir():
                shutil.copytree(src, self.root / name, ignore=shutil.ignore_patterns("__pycache__"))
            elif src.exists():
                shutil.copy2(src, self.root / name)

    def write_config(self, config, name="test.yaml"):
        path = self.root / name
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path

    def run(self, *args, config=None, cores=2, check=True, timeout=1800):
        """Run snakemake; ``config`` (a dict) is written and passed as --configfile."""
        cmd = [sys.executable, "-m", "snakemake", "--cores", str(cores)]
        if config is not None:
            # "--configfile=PATH": a separate PATH would let the option swallow the targets after it
            cmd.append(f"--configfile={self.write_config(config)}")
        cmd += list(args)
        env = dict(os.environ, PYTHONHASHSEED="0", TF_CPP_MIN_LOG_LEVEL="2")
        proc = subprocess.run(cmd, cwd=self.root, capture_output=True, text=True, timeout=timeout, env=env)
        proc.output = proc.stdout + proc.stderr
        if check and proc.returncode != 0:
            raise AssertionError(f"snakemake {' '.join(args)} failed:\n{proc.output[-6000:]}")
        return proc

    def dry_run_jobs(self, *args, config=None):
        """Rule names that a dry run would execute, with their counts."""
        proc = self.run("-n", "--quiet", "rules", *args, config=config)
        return parse_job_counts(proc.output)

    def path(self, rel):
        return self.root / rel

    def clone(self, root):
        """A copy of this work directory, results and Snakemake metadata included
        (modification times kept, so the copy is exactly as up to date)."""
        # (not Snakemake's locks: another test worker may be reading this run)
        shutil.copytree(self.root, root, symlinks=True, ignore=shutil.ignore_patterns("locks"))
        clone = Workflow.__new__(Workflow)
        clone.root = Path(root)
        clone.__dict__.update({k: copy.deepcopy(v) for k, v in self.__dict__.items() if k != "root"})
        return clone


def parse_job_counts(output):
    """Parse the 'Job stats' table Snakemake prints into {rule: count}."""
    counts = {}
    lines = output.splitlines()
    for i, line in enumerate(lines):
        if line.strip().startswith("job") and "count" in line:
            for row in lines[i + 2 :]:
                parts = row.split()
                if len(parts) != 2 or not parts[1].isdigit():
                    break
                if parts[0] != "total":
                    counts[parts[0]] = int(parts[1])
            break
    return counts


@pytest.fixture
def workflow(tmp_path):
    return Workflow(tmp_path / "wf")


@pytest.fixture(scope="session")
def completed_tiny_workflow(tmp_path_factory):
    """The whole workflow run once on the TINY config: the one tiny trained
    workflow of the session (each run of it costs minutes on 2 cores, nearly
    all of it in the jobs' TensorFlow start-up, so no other test trains it).

    Shared, do not modify: tests that read it take it as it is; a test that
    changes something (a knob, one figure, a killed job, another precision,
    more seeds) runs on ``completed_tiny_workflow.clone(tmp_path / "wf")``,
    a copy with results, ``.snakemake`` metadata and modification times, so
    Snakemake reruns only what the change makes stale. Only tests whose data
    or training differs from the start keep a run of their own (bad input,
    the votes as targets, a fresh clone with the shipped model, SLURM's
    failed job).

    Under pytest-xdist (``-n 2`` in pyproject.toml) the workers share one run
    too: the first worker that asks builds it in the session's common
    temporary folder while holding a lock; the others wait for it and read
    it (or fail with its error)."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return build_tiny_workflow(tmp_path_factory.mktemp("tiny") / "wf")
    shared = tmp_path_factory.getbasetemp().parent / "tiny"
    shared.mkdir(exist_ok=True)
    with open(shared / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the builder's run ends
        if (shared / "failed").exists():
            pytest.fail(f"the shared tiny run failed in another worker:\n{(shared / 'failed').read_text()}")
        if (shared / "done").exists():
            wf = Workflow.__new__(Workflow)
            wf.root, wf.config = shared / "wf", tiny_config()
            return wf
        try:
            wf = build_tiny_workflow(shared / "wf")
        except BaseException as error:
            (shared / "failed").write_text(str(error)[-6000:])
            raise
        (shared / "done").touch()
        return wf


def build_tiny_workflow(root):
    """The whole workflow run on the TINY config in ``root``."""
    wf = Workflow(root)
    wf.config = tiny_config()
    wf.run(config=wf.config)
    return wf

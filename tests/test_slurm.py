"""The workflow on a real SLURM cluster: one node on localhost, started by
tests/cluster/start_slurm.sh, driven by `snakemake --profile profiles/slurm`.

Needs root, and slurm-wlm and munge installed, or Debian's apt-get and
FER_INSTALL_SYSTEM_PACKAGES=1 to let the script install them (.ci/run sets
it); skipped elsewhere with the reason. The cluster is stopped at the end of the
module, also when a test fails.
"""

import contextlib
import fcntl
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import INSTALL_SYSTEM_PACKAGES, REPO, Workflow, not_installed, parse_job_counts, tiny_config

CLUSTER = REPO / "tests" / "cluster"
# Where start_slurm.sh keeps config, state and logs (the script's default).
SLURM_DIR = Path(os.environ.get("FER_SLURM_DIR", "/var/tmp/fer-slurm"))
# What start_slurm.sh checks before it installs slurm-wlm and munge.
SLURM_COMMANDS = ("slurmctld", "slurmd", "sbatch", "munged")
SUBMITTED = re.compile(r"Job (\d+) has been submitted with SLURM jobid (\d+)")


def skip_reason():
    if os.geteuid() != 0:
        return "the local SLURM cluster needs root (it starts daemons)"
    if not all(shutil.which(daemon) for daemon in SLURM_COMMANDS) and not INSTALL_SYSTEM_PACKAGES:
        return not_installed("slurm-wlm and munge are")
    if not Path("/etc/debian_version").exists() or not shutil.which("apt-get"):
        return "the local SLURM cluster needs Debian with apt-get"
    return None


@contextlib.contextmanager
def cluster_lock(timeout=1200):
    """One test session at a time on the machine's one cluster (the daemons,
    ports and /etc/slurm/slurm.conf are shared by every pytest run)."""
    with open("/var/tmp/fer-slurm.lock", "w") as lock:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    pytest.skip(f"another test session has used the local SLURM cluster for {timeout} s")
                time.sleep(2)
        yield


@pytest.fixture(scope="module")
def slurm():
    """A running single-node cluster: {'log': slurmctld's log, 'memory': node MB}."""
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    env = dict(os.environ, FER_SLURM_DIR=str(SLURM_DIR))
    with cluster_lock():
        start = subprocess.run(
            ["bash", str(CLUSTER / "start_slurm.sh")], capture_output=True, text=True, env=env, timeout=900
        )
        try:
            if start.returncode == 3:
                pytest.skip(f"apt-get cannot install slurm-wlm and munge here:\n{start.stderr[-2000:]}")
            assert start.returncode == 0, f"start_slurm.sh failed:\n{start.stdout}\n{start.stderr}"
            print(start.stdout[-1000:])
            node = subprocess.run(
                ["scontrol", "show", "node"], capture_output=True, text=True, check=True
            ).stdout
            memory = int(re.search(r"RealMemory=(\d+)", node).group(1))
            yield {"log": SLURM_DIR / "log" / "slurmctld.log", "memory": memory}
        finally:
            # Always: no daemon outlives the tests, also after a failure.
            stop = subprocess.run(
                ["bash", str(CLUSTER / "stop_slurm.sh")], capture_output=True, text=True, env=env, timeout=120
            )
            print(stop.stdout, stop.stderr)


def test_profile_resources(workflow):
    """What profiles/slurm asks SLURM for, per rule (a dry run: no cluster needed)."""
    proc = workflow.run("--profile", "profiles/slurm", "-n", config=tiny_config(), cores=4)
    assert "Using profiles profiles/slurm and workflow specific profile profiles/default" in proc.output
    resources = {}
    rule = None
    for line in proc.output.splitlines():
        if match := re.match(r"(?:local)?rule (\w+):$", line.strip()):
            rule = match.group(1)
        elif line.strip().startswith("resources:"):
            resources[rule] = dict(re.findall(r"(\w+)=([^,\s]+)", line))
    # CPUs follow threads (train_model: threads 4), GPU and memory for training.
    train = resources["train_model"]
    assert (train["cpus_per_task"], train["gpu"], train["mem_mb"], train["runtime"]) == (
        "4",
        "1",
        "8000",
        "480",
    )
    assert resources["predict_model"]["cpus_per_task"] == "2"
    assert resources["predict_model"]["mem_mb"] == "4000"
    # Every other job gets the defaults.
    assert (resources["split_data"]["mem_mb"], resources["split_data"]["runtime"]) == ("2000", "30")
    assert resources["split_data"]["cpus_per_task"] == "1"
    assert all("slurm_partition" not in r and "slurm_account" not in r for r in resources.values())


def cluster_profile(tmp_path, memory):
    """profiles/slurm, adapted only where this one-node test cluster needs it."""
    profile = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
    # The node has no GPU: `gpu: 1` would make sbatch refuse the training jobs.
    profile["set-resources"]["train_model"]["gpu"] = 0
    # Ask for no more memory than the node has (a CI machine may be small).
    cap = memory // 2
    profile["default-resources"]["mem_mb"] = min(profile["default-resources"]["mem_mb"], cap)
    for resources in profile["set-resources"].values():
        if "mem_mb" in resources:
            resources["mem_mb"] = min(resources["mem_mb"], cap)
    # One CPU per job, so that two jobs share the node's (2) cores at a time:
    # each job still runs with its rule's threads (2, as in the local run, see
    # below), the node is just oversubscribed. Halves the wall time here.
    profile["default-resources"]["cpus_per_task"] = 1
    # Tiny jobs take seconds: look at their state sooner than a real site needs.
    profile["slurm-init-seconds-before-status-checks"] = 1
    profile["seconds-between-status-checks"] = 1
    profile["latency-wait"] = 5
    path = tmp_path / "slurm-profile"
    path.mkdir()
    (path / "config.yaml").write_text(yaml.safe_dump(profile, sort_keys=False))
    return path


def submissions(output):
    """{snakemake job id: SLURM job id} from Snakemake's output."""
    return {int(job): int(slurm_id) for job, slurm_id in SUBMITTED.findall(output)}


def submitted_rules(output):
    """Sorted rule names of the submitted jobs. A job's block ('rule X:' ...
    'jobid: N') may be printed before another's submission line, so match by id."""
    rule_of = {}
    current = None
    for line in output.splitlines():
        match = re.match(r"(?:local)?rule (\w+):$", line.strip())
        if match:
            current = match.group(1)
        match = re.match(r"jobid: (\d+)$", line.strip())
        if match and current:
            # Only the first jobid after the header ("Error in rule X:" blocks
            # and job steps' logs repeat jobid lines of their own).
            rule_of.setdefault(int(match.group(1)), current)
            current = None
    return sorted(rule_of[job] for job in submissions(output))


def job_state(slurm_id):
    """SLURM's state and work directory of a job (slurmctld keeps it MinJobAge)."""
    out = subprocess.run(
        ["scontrol", "show", "job", str(slurm_id)], capture_output=True, text=True, check=True
    ).stdout
    return re.search(r"JobState=(\w+)", out).group(1), re.search(r"WorkDir=(\S+)", out).group(1)


def files_under(root, *dirs):
    return {str(p.relative_to(root)) for d in dirs for p in (root / d).rglob("*") if p.is_file()}


# What the SLURM run builds: the DNN's predictions, so the data rules, the
# DNN's training and its prediction (5 jobs). Every job through sbatch and
# the same numbers as the local run prove the executor; the rest of the
# default target runs the same way and is left to the local run.
SLURM_TARGETS = ["results/eval/predictions_dnn.npz"]


def declared_files(output):
    """The output, log and benchmark files of the jobs in a dry run's output."""
    files = set()
    for line in output.splitlines():
        if match := re.match(r"\s+(output|log|benchmark): (.+)$", line):
            files |= {path.strip() for path in match.group(2).split(",")}
    return files


@pytest.mark.cluster
def test_workflow_on_slurm_equals_local_run(slurm, completed_tiny_workflow, tmp_path):
    local = completed_tiny_workflow
    wf = Workflow(tmp_path / "wf")
    profile = cluster_profile(tmp_path, slurm["memory"])
    targets = ["--", *SLURM_TARGETS]
    copied = files_under(wf.root, "results", "resources")  # the shipped model (conftest.WORKFLOW_FILES)
    expected = declared_files(wf.run("-n", *targets, config=local.config).output)
    assert {"results/models/dnn.keras", "results/logs/train_dnn.log", *SLURM_TARGETS} <= expected
    # Same config and seed as the local run, and the same --cores 2 (Workflow.run),
    # which caps every rule's threads, and so TensorFlow's thread pools, at 2
    # in both runs: the float results can then agree exactly.
    started = time.monotonic()
    proc = wf.run("--profile", str(profile), *targets, config=local.config, timeout=1500)
    print(
        f"tiny workflow on SLURM: {len(submissions(proc.output))} jobs in {time.monotonic() - started:.0f} s"
    )

    # Every job went through sbatch ...
    jobs = parse_job_counts(proc.output)
    jobs.pop("all", None)
    sent = submissions(proc.output)
    assert len(sent) == sum(jobs.values()) >= 5, proc.output[-4000:]
    assert submitted_rules(proc.output) == sorted(rule for rule, count in jobs.items() for _ in range(count))
    # ... and SLURM ran each of them, in this work directory, successfully.
    ctld_log = slurm["log"].read_text()
    for slurm_id in sent.values():
        assert f"_slurm_rpc_submit_batch_job: JobId={slurm_id} " in ctld_log
        assert f"_job_complete: JobId={slurm_id} WEXITSTATUS 0" in ctld_log
        assert job_state(slurm_id) == ("COMPLETED", str(wf.root))

    # The same outputs as the local run (those of these jobs), and nothing left to do.
    assert files_under(wf.root, "results", "resources") == expected | copied
    assert expected <= files_under(local.root, "results", "resources")
    assert wf.dry_run_jobs(*targets, config=local.config) == {}

    # The same numbers: the predictions, exactly, and the training history.
    a = np.load(wf.path("results/eval/predictions_dnn.npz"))
    b = np.load(local.path("results/eval/predictions_dnn.npz"))
    for key in b.files:
        np.testing.assert_array_equal(a[key], b[key], err_msg=f"dnn {key}")
    ours = pd.read_csv(wf.path("results/models/dnn.history.csv"))
    theirs = pd.read_csv(local.path("results/models/dnn.history.csv"))
    timing = [c for c in ours.columns if re.search(r"second|time|duration", c, re.I)]
    pd.testing.assert_frame_equal(ours.drop(columns=timing), theirs.drop(columns=timing), check_exact=True)


def write_label_feature_csv(folder, bad_line=None, n_per_class=12, n_test=10, seed=0):
    """A small label_feature_csv train.csv (label,feature) and test.csv (id,feature). With
    bad_line, that line (1 = header) of train.csv has one pixel too few."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    rows = ["label,feature"]
    for label in np.repeat(np.arange(7), n_per_class):
        pixels = rng.integers(0, 256, 48 * 48)
        rows.append(f"{label}," + " ".join(map(str, pixels)))
    if bad_line:
        label, feature = rows[bad_line - 1].split(",")
        rows[bad_line - 1] = label + "," + feature.rsplit(" ", 1)[0]
    (folder / "train.csv").write_text("\n".join(rows) + "\n")
    test = ["id,feature"] + [
        f"{i}," + " ".join(map(str, rng.integers(0, 256, 48 * 48))) for i in range(n_test)
    ]
    (folder / "test.csv").write_text("\n".join(test) + "\n")


@pytest.mark.cluster
def test_failed_job_is_reported_and_rerun_resumes(slurm, tmp_path):
    wf = Workflow(tmp_path / "wf")
    profile = cluster_profile(tmp_path, slurm["memory"])
    config = tiny_config(
        data={"format": "label_feature_csv", "train": "input/train.csv", "test": "input/test.csv"}
    )
    # The data targets, and one job that does not depend on the data (the
    # synthetic generator), which finishes although read_data fails.
    targets = ["results/data/dataset.npz", "results/figures/samples.png", "resources/synthetic/masks.npz"]
    write_label_feature_csv(wf.path("input"), bad_line=6)

    failed = wf.run(
        "--profile", str(profile), "--keep-going", *targets, config=config, check=False, timeout=900
    )
    assert failed.returncode != 0, failed.output[-4000:]
    # Snakemake names the failed SLURM job and prints the rule's log, whose
    # error names the file and the line.
    sent = submissions(failed.output)
    assert submitted_rules(failed.output) == ["generate_synthetic", "read_data"]
    assert re.search(r"SLURM-job '(\d+)' failed", failed.output)
    assert int(re.search(r"SLURM-job '(\d+)' failed", failed.output).group(1)) in sent.values()
    assert "Error in rule read_data" in failed.output
    assert "Logfile results/logs/read_data.log:" in failed.output
    log_text = failed.output.split("Logfile results/logs/read_data.log:", 1)[1]
    # ("input/train.csv:6: expected 2304 pixel values" or "train.csv, line 6: ...")
    assert re.search(r"train\.csv\W{1,3}(line\W{0,2})?6\b", log_text), failed.output[-4000:]
    assert not wf.path("results/data/raw.npz").exists()
    assert wf.path("resources/synthetic/masks.npz").exists()

    # Fix the file and rerun: only the failed job and what depends on it run.
    write_label_feature_csv(wf.path("input"))
    fixed = wf.run("--profile", str(profile), *targets, config=config, timeout=900)
    assert submitted_rules(fixed.output) == ["plot_samples", "read_data", "split_data"]
    assert len(submissions(fixed.output)) == 3
    for target in targets:
        assert wf.path(target).exists()
    # Nothing left to do ("--": the targets must not follow "--quiet rules").
    assert wf.dry_run_jobs("--", *targets, config=config) == {}

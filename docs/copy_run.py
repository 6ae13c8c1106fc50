"""Copy a finished run's result files into docs/results/<run>/ so the README
and the results pages can quote them:

    python docs/copy_run.py results/fer2013-cpu docs/results/fer2013 --command "snakemake ..." --wall 1234

Copies the tables and figures the docs quote, writes ``timings.csv`` (one
row per job, from the run's ``timings/*.tsv``) and ``run.csv`` (the commit,
command, wall time, machine and date the numbers come from; the machine is
this one's cores, memory and CPU unless ``--machine`` says otherwise). Then
run ``python docs/update_readme.py`` to regenerate the quoted blocks.
"""

import argparse
import os
import platform
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pandas as pd

# What the README and the docs quote, relative to the run's results folder.
FILES = [
    "findings.csv", "findings.md", "metrics.csv", "metrics.md",
    "data/data_quality.csv", "data/class_counts.csv",
    "eval/faithfulness.csv", "eval/saliency_scores.csv", "eval/saliency_regions.csv", "eval/confused_pairs_cnn.csv",
    "eval/confused_pairs_dnn.csv", "eval/agreement_pairs.csv", "eval/agreement_accuracy.csv",
    "eval/annotator_confusion.csv", "eval/filter_classes_block3_conv2.csv",
    "eval/filter_tests_block3_conv2.csv",
    "figures/learning_curves.png", "figures/confusion_matrix_cnn.png", "figures/saliency.png",
    "figures/saliency_by_class.png", "figures/faithfulness.png", "figures/annotator_confusion.png",
    "figures/agreement_pairs.png", "figures/filters_block3_conv2.png", "figures/filter_classes_block3_conv2.png",
    "eval/cascading_randomisation.csv", "figures/cascading_randomisation.png",
    # The seed ensemble (with ensemble.seeds) and the submission it wrote.
    "eval/ensemble.csv", "eval/ensemble.md", "submission.csv",
    # The explanation rules' logs: the times inside them (ROAD imputation, ascent, top-crop search).
    "logs/evaluate_faithfulness.log", "logs/evaluate_cascading_randomisation.log",
    "logs/plot_filters_block3_conv2.log",
]  # fmt: skip


def timings(results):
    rows = []
    for tsv in sorted((results / "timings").glob("*.tsv")):
        table = pd.read_csv(tsv, sep="\t")
        row = {"job": tsv.stem, "seconds": round(float(table["s"].iloc[-1]), 1),
               "max_rss_mb": round(float(table["max_rss"].iloc[-1]), 0)}  # fmt: skip
        # CPU time and load (Snakemake's benchmark columns) say how much of the
        # wall time the job had the cores, on a shared machine.
        for column, name in (("cpu_time", "cpu_s"), ("mean_load", "mean_load")):
            if column in table:
                row[name] = round(float(table[column].iloc[-1]), 1)
        rows.append(row)
    return pd.DataFrame(rows).sort_values("seconds", ascending=False)


def this_machine():
    """'2 cores, 24 GiB, AMD EPYC ...': where copy_run runs, which is where the run ran unless told."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    parts = [f"{cores} cores"]
    try:
        kib = int(Path("/proc/meminfo").read_text().split("MemTotal:", 1)[1].split()[0])
        parts.append(f"{round(kib / 2**20)} GiB")
    except (OSError, IndexError, ValueError):
        pass
    try:
        model = Path("/proc/cpuinfo").read_text().split("model name", 1)[1].split(":", 1)[1].split("\n")[0]
        parts.append(model.strip())
    except (OSError, IndexError):
        parts.append(platform.processor() or platform.machine())
    return ", ".join(parts)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("results", type=Path)
    parser.add_argument("dest", type=Path)
    parser.add_argument("--command", required=True, help="the command that made the run")
    parser.add_argument("--wall", type=float, required=True, help="the run's wall-clock seconds")
    parser.add_argument("--commit", help="the commit the run was made on (default: HEAD)")
    parser.add_argument("--machine", help="where the run ran (default: this machine's cores, memory and CPU)")
    parser.add_argument(
        "--run-file",
        default="run.csv",
        help="name of the run record (e.g. explain_run.csv for a rerun of some rules on a copied run)",
    )
    args = parser.parse_args()
    args.dest.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        source = args.results / name
        if source.is_file():
            shutil.copy2(source, args.dest / Path(name).name)
    timings(args.results).to_csv(args.dest / "timings.csv", index=False)
    head = ["git", "rev-parse", "--short", "HEAD"]
    commit = args.commit or subprocess.run(head, capture_output=True, text=True).stdout.strip()
    run = {"commit": commit, "command": args.command, "wall_s": args.wall, "machine": args.machine or this_machine(),
           "date": date.today().isoformat()}  # fmt: skip
    pd.DataFrame([run]).to_csv(args.dest / args.run_file, index=False)


if __name__ == "__main__":
    main()

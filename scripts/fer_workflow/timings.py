"""The workflow's own timings: every job's benchmark file (results/timings/,
written by Snakemake's ``benchmark:``) in one table, so a user sees what
each step took on their machine."""

import os
from pathlib import Path

import pandas as pd

# Columns kept from Snakemake's benchmark files, and their names in the summary.
KEPT = {"s": "seconds", "cpu_time": "cpu_seconds", "max_rss": "max_rss_mb"}
COLUMNS = ["job", *KEPT.values()]


def read(folder):
    """One row per benchmark file under ``folder`` (searched recursively):
    ``job`` (the file's path under ``folder``, without ``.tsv``), wall
    seconds, CPU seconds and peak memory (MB); slowest first. A file written
    by ``repeat()`` holds several runs: their mean is taken."""
    folder = Path(folder)
    rows = []
    for path in sorted(folder.rglob("*.tsv")):
        runs = pd.read_csv(path, sep="\t")
        row = {"job": path.relative_to(folder).with_suffix("").as_posix()}
        for column, name in KEPT.items():
            values = (
                pd.to_numeric(runs[column], errors="coerce") if column in runs else pd.Series(dtype=float)
            )
            row[name] = float(values.mean()) if values.notna().any() else float("nan")
        rows.append(row)
    table = pd.DataFrame(rows, columns=COLUMNS)
    return table.sort_values(["seconds", "job"], ascending=[False, True], ignore_index=True)


def machine():
    """A short description of this machine for the figure: CPU count and model."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{cpus} CPUs" + (f", {model}" if model else "")

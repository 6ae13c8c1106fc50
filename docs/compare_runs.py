"""Compare two runs' results/ folders file by file, apart from time fields:

    python docs/compare_runs.py RUN_A/results RUN_B/results

A refactor that is only structural must leave every output byte-identical
except what records time: job timings and benchmark files, the timings
figure, seconds columns of tables and records, log time stamps and the
seconds quoted in log lines, memory addresses in log lines, a Keras file's save date and the memory
addresses Keras writes as ``shared_object_id`` (and the module path of a
layer class that moved). Prints one line per file that differs in anything
else and exits 1 if there is one."""

import hashlib
import io
import json
import re
import sys
import zipfile
from pathlib import Path

import pandas as pd

TIME_FILES = re.compile(r"^(timings/|figures/timings\.png$|timings\.csv$)")
TIME_COLUMN = re.compile(r"second|time|duration|date", re.I)


def log_text(data):
    """A log without its time stamps, the durations in its lines (also the
    seconds cells of a logged table), memory addresses, and matplotlib's
    one-time note that it built its font cache (the first run on a machine)."""
    text = data.decode(errors="replace")
    text = re.sub(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ ", "", text, flags=re.M)
    text = re.sub(r"^generated new fontManager\n", "", text, flags=re.M)
    text = re.sub(r"0x[0-9a-f]+", "<address>", text)
    text = re.sub(r"\| \d+\.\d \|", "| <time> |", text)
    return re.sub(r"\d+(\.\d+)? ?(s|ms|seconds)\b", "<time>", text)


def keras_parts(data, moved):
    """A .keras file's weights and its config without memory addresses and with moved module paths."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        config = archive.read("config.json").decode()
        weights = archive.read("model.weights.h5")
    config = re.sub(r'"shared_object_id": \d+', '"shared_object_id": 0', config)
    for old, new in moved.items():
        config = config.replace(old, new)
    return config, hashlib.sha256(weights).hexdigest()


def table(data):
    frame = pd.read_csv(io.BytesIO(data))
    return frame.drop(columns=[c for c in frame.columns if TIME_COLUMN.search(c)])


def record(data):
    return {k: v for k, v in json.loads(data).items() if not TIME_COLUMN.search(k)}


def same(name, a, b, moved):
    if a == b or TIME_FILES.search(name):
        return True
    if name.endswith(".log"):
        return log_text(a) == log_text(b)
    if name.endswith(".keras"):
        return keras_parts(a, moved) == keras_parts(b, moved)
    if name.endswith(".csv"):
        return table(a).equals(table(b))
    if name.endswith(".json"):
        return record(a) == record(b)
    if name.endswith((".md", ".html")):
        strip = re.compile(r"\d+\.\d(?= \||</td>)")  # seconds cells of the metrics pages
        return strip.sub("", a.decode()) == strip.sub("", b.decode())
    return False


def main(a, b, moved=None):
    moved = moved or {"fer_workflow.augment": "fer_workflow.models.augment"}
    a, b = Path(a), Path(b)
    names_a = {p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file()}
    names_b = {p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file()}
    different = sorted(names_a ^ names_b)
    byte_identical = 0
    for name in sorted(names_a & names_b):
        data_a, data_b = (a / name).read_bytes(), (b / name).read_bytes()
        byte_identical += data_a == data_b
        if not same(name, data_a, data_b, moved):
            different.append(name)
    print(f"{len(names_a)} and {len(names_b)} files; {byte_identical} byte-identical; "
          f"{len(different)} differ in more than time fields")  # fmt: skip
    for name in different:
        print("  differs:", name)
    return 1 if different else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))

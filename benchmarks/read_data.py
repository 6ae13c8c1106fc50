"""Time reading the real FER2013 files (label_feature_csv format) and print rows per second.

    .venv/bin/python benchmarks/read_data.py [DATA_DIR]

DATA_DIR defaults to resources/fer2013/ in the repository (train.csv.gz,
test.csv.gz; see docs/guide/data.md#fer2013 for linking them there).
Each file is read ``--repeat`` times (default 3); the best time is reported,
with the time of the data-quality counts on the result.
"""

import argparse
import sys
import time
from pathlib import Path

from fer_workflow import data
from fer_workflow.data import readers

REPO = Path(__file__).resolve().parent.parent

# docs/guide/data.md#fer2013 links the files here.
DEFAULT_DATA_DIR = REPO / "resources" / "fer2013"


def best_of(repeat, function, *args):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function(*args)
        times.append(time.perf_counter() - start)
    return min(times), result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", default=DEFAULT_DATA_DIR, type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    train, test = args.data_dir / "train.csv.gz", args.data_dir / "test.csv.gz"
    if not train.exists():
        sys.exit(
            f"{train}: not found. Link the FER2013 files into resources/fer2013/ (docs/guide/data.md#fer2013) "
            "or pass the folder holding train.csv.gz and test.csv.gz: benchmarks/read_data.py DATA_DIR"
        )

    seconds, (x_train, y_train) = best_of(args.repeat, readers.read_label_feature_train, train)
    print(f"read {train.name}: {len(y_train)} rows in {seconds:.2f} s = {len(y_train) / seconds:,.0f} rows/s")
    x_test = x_train[:0]
    if test.exists():
        seconds, (ids, x_test) = best_of(args.repeat, readers.read_label_feature_test, test)
        print(f"read {test.name}: {len(ids)} rows in {seconds:.2f} s = {len(ids) / seconds:,.0f} rows/s")
    seconds, counts = best_of(args.repeat, data.quality_counts, x_train, y_train, x_test)
    print(f"quality counts: {seconds:.2f} s; {counts}")


if __name__ == "__main__":
    main()

"""Write the shipped model's ONNX copy and its record.

    python docs/export_shipped.py [--fer2013 ../shared/data/fer2013]

Exports ``resources/models/fer2013_cnn.keras`` as
``resources/models/fer2013_cnn.onnx`` (``export.export_model``: float32, no
augmentation layers) and, to check it, as a LiteRT file in a temporary
folder; compares both with Keras on the FER2013 validation faces (the split
of presets/fer2013-cpu.yaml rebuilt from train.csv.gz, as
tests/test_shipped_model.py does), and writes ``fer2013_cnn.onnx.json``:
the source's SHA-256, the ONNX file's, its opset, the package versions, the
agreement numbers and the temperature (the .keras record's).
"""

import argparse
import json
import os
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

from fer_workflow import data, models, runtime  # noqa: E402
from fer_workflow.data import readers  # noqa: E402
from fer_workflow.use import export, shipped  # noqa: E402


def validation_faces(folder):
    """The 2,872 validation faces of presets/fer2013-cpu.yaml (seed 42, fraction 0.1, near copies within 32)."""
    raw = readers.read("label_feature_csv", str(Path(folder) / "train.csv.gz"))
    dataset, _ = data.make_dataset(
        raw.x_train, raw.y_train, raw.x_test, raw.y_test, raw.test_ids,
        validation_fraction=0.1, seed=42, max_diff=32,
    )  # fmt: skip
    return dataset.x_val


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--fer2013", default=str(REPO.parent / "shared/data/fer2013"))
    args = parser.parse_args()
    runtime.configure_backend(threads=2)
    source = REPO / shipped.SHIPPED_MODEL
    onnx_path = source.with_suffix(".onnx")
    model = models.load_model(str(source))
    faces = validation_faces(args.fer2013)
    with tempfile.TemporaryDirectory() as tmp:
        litert_path = os.path.join(tmp, "fer2013_cnn.tflite")
        export.export_model(model, onnx_path, litert_path)
        checks = export.check(model, faces, {"onnx": onnx_path, "litert": litert_path}, threads=2)
        record = export.record(
            shipped.SHIPPED_MODEL, onnx_path, None, checks,
            f"the {len(faces):,} FER2013 validation faces of presets/fer2013-cpu.yaml (plain, no flip)",
        )  # fmt: skip
        record["exported"]["litert"] = {
            "file": "not shipped: `snakemake results/export/model.tflite` writes it"
        }
    record["source"]["file"] = shipped.SHIPPED_MODEL
    record["calibration"] = {
        "temperature": shipped.temperature(REPO / shipped.SHIPPED_RECORD),
        "from": shipped.SHIPPED_RECORD,
    }
    record["command"] = "python docs/export_shipped.py"
    out = onnx_path.with_suffix(".onnx.json")
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record["agreement_with_keras"], indent=2))


if __name__ == "__main__":
    main()

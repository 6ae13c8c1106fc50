"""Rule export_model in the workflow: not part of the default target; asked
for, it writes the photos' model (the shipped CNN by default) as ONNX and
LiteRT with a record whose agreement numbers hold, and the exported files
classify photos through fer-workflow with the record's temperature."""

import io
import json

import cv2
import numpy as np
import pandas as pd
import pytest

import scenes
from conftest import tiny_config
from fer_workflow.use import cli, shipped

pytestmark = pytest.mark.slow


def test_export_target(workflow, capsys, tmp_path):
    config = tiny_config(export={"opset": 17, "check_faces": 40})
    assert "export_model" not in workflow.dry_run_jobs(config=config)
    workflow.run("results/export/model.onnx", config=config)
    folder = workflow.path("results/export")
    record = json.loads((folder / "model.json").read_text())
    assert record["source"]["sha256"] == shipped.sha256(workflow.path(shipped.SHIPPED_MODEL))
    assert record["exported"]["onnx"]["opset"] == 17
    for kind in ("onnx", "litert"):
        checks = record["agreement_with_keras"][kind]
        assert checks["faces"] == 40 and checks["same_class"] >= 0.999 and checks["max_abs_diff"] <= 1e-4
    assert record["calibration"]["temperature"] == shipped.temperature(workflow.path(shipped.SHIPPED_RECORD))
    assert workflow.path("results/timings/export_model.tsv").is_file()

    # The exported LiteRT file through the command: its temperature from model.json beside it.
    photo = tmp_path / "face.png"
    cv2.imwrite(str(photo), scenes.gradient_canvas(120, 160, np.random.default_rng(0)))
    boxes = tmp_path / "boxes.csv"
    boxes.write_text("file,x,y,w,h\nface.png,20,10,90,90\n")
    assert (
        cli.main(["classify", str(photo), "--boxes", str(boxes), "--model", str(folder / "model.tflite")])
        == 0
    )
    out, err = capsys.readouterr()
    assert len(pd.read_csv(io.StringIO(out))) == 1
    assert "model.json" in err.strip().splitlines()[-1]

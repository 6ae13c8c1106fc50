"""Rule export_model: write the photos' model as ONNX and LiteRT files and
their record, with how far each file's probabilities are from Keras's on
this run's first validation faces."""

import json
import logging

from fer_workflow import runtime

runtime.setup(snakemake, tensorflow=True)

from fer_workflow import data, models  # noqa: E402
from fer_workflow.use import export, shipped  # noqa: E402

params, input, output = snakemake.params, snakemake.input, snakemake.output
model = models.load_model(input.model)
export.export_model(model, output.onnx, output.litert, params.opset)
faces = data.load(input.dataset).x_val[: params.check_faces]
checks = export.check(model, faces, {"onnx": output.onnx, "litert": output.litert}, snakemake.threads)
for kind, numbers in checks.items():
    logging.info("%s vs Keras on %d validation faces: %s", kind, len(faces), numbers)
record = export.record(
    input.model, output.onnx, output.litert, checks, f"the first {len(faces)} validation faces of this run"
)
record["model"] = params.model
calibration = input.get("calibration")
record["calibration"] = {
    "temperature": shipped.temperature(calibration),
    "from": calibration or "none (T = 1)",
}
with open(output.record, "w") as f:
    json.dump(record, f, indent=2)
    f.write("\n")

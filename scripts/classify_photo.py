"""Rule classify_photo: find the faces on one photo, classify their
expressions with the model (calibrated by its temperature), write its rows of
the predictions table, the 48x48 crops and the annotated photo."""

import logging

from fer_workflow import runtime

runtime.setup(snakemake, tensorflow=True)

import time  # noqa: E402

import cv2  # noqa: E402

from fer_workflow import arrays, classify, shipped  # noqa: E402

params, output = snakemake.params, snakemake.output
if params.warning:
    logging.warning("%s", params.warning)
temperature = shipped.temperature(snakemake.input.get("calibration"))
logging.info(
    "model: %s; temperature %.4f%s",
    params.model,
    temperature,
    "" if "calibration" in snakemake.input.keys() else " (no calibration found: uncalibrated)",
)
model = runtime.load_model(snakemake.input.model)
start = time.perf_counter()
result = classify.classify_photo(
    snakemake.input.photo,
    model,
    margin=params.margin,
    min_face_size=params.min_face_size,
    scale_factor=params.scale_factor,
    min_neighbors=params.min_neighbors,
    tta_flip=params.tta_flip,
    on_unreadable=params.on_unreadable,
    max_pixels=params.max_pixels,
    temperature=temperature,
)
logging.info("%s: %.3f s (model loading not counted)", snakemake.input.photo, time.perf_counter() - start)
logging.info("faces:\n%s", result.table.to_string(index=False))
result.table.to_csv(output.table, index=False)
arrays.save(output.crops, {"crops": result.crops})
if not cv2.imwrite(output.annotated, result.annotated):
    raise OSError(f"could not write {output.annotated}")

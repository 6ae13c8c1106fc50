"""Rule classify_photo: find the faces on one photo, classify their
expressions with the model (calibrated by its temperature), write its rows of
the predictions table, the 48x48 crops and the annotated photo. A photo too
large by its header is listed (or fails) before TensorFlow is even loaded."""

import logging
import time

import cv2

from fer_workflow import arrays, models, runtime
from fer_workflow.use import classify, detect, shipped

runtime.setup(snakemake)
params, input, output = snakemake.params, snakemake.input, snakemake.output
start = time.perf_counter()
result = classify.refuse_if_too_large(input.photo, params.max_pixels, params.on_unreadable)
if result is None:
    runtime.configure_backend(threads=snakemake.threads)
    if params.warning:
        logging.warning("%s", params.warning)
    temperature = shipped.temperature(input.get("calibration"))
    calibrated = "" if "calibration" in input.keys() else " (no calibration found: uncalibrated)"
    logging.info("model: %s; temperature %.4f%s", params.model, temperature, calibrated)
    model = models.load_model(input.model)
    start = time.perf_counter()
    result = classify.classify_photo(
        input.photo,
        model,
        detector=detect.Detector(
            params.detector, params.min_face_size, params.scale_factor, params.min_neighbors
        ),
        margin=params.margin,
        min_face_size=params.min_face_size,
        scale_factor=params.scale_factor,
        min_neighbors=params.min_neighbors,
        tta_flip=params.tta_flip,
        on_unreadable=params.on_unreadable,
        max_pixels=params.max_pixels,
        temperature=temperature,
    )
logging.info("%s: %.3f s (model loading not counted)", input.photo, time.perf_counter() - start)
logging.info("faces:\n%s", result.table.to_string(index=False))
result.table.to_csv(output.table, index=False)
arrays.save(output.crops, {"crops": result.crops})
if not cv2.imwrite(output.annotated, result.annotated):
    raise OSError(f"could not write {output.annotated}")

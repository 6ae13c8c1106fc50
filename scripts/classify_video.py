"""Rule classify_video: sample one video's frames, find, track and classify
its faces; write the per-frame table, the timeline figure and the annotated
video (checked to re-open with every frame written)."""

import logging

from fer_workflow import models, runtime

runtime.setup(snakemake, tensorflow=True)

import time  # noqa: E402

from fer_workflow import plots  # noqa: E402
from fer_workflow.use import detect, shipped, video  # noqa: E402

params, output = snakemake.params, snakemake.output
if params.warning:
    logging.warning("%s", params.warning)
temperature = shipped.temperature(snakemake.input.get("calibration"))
calibrated = "" if "calibration" in snakemake.input.keys() else " (no calibration found: uncalibrated)"
logging.info("model: %s; temperature %.4f%s", params.model, temperature, calibrated)
model = models.load_model(snakemake.input.model)
detector = detect.Detector(params.detector, params.min_face_size, params.scale_factor, params.min_neighbors)
start = time.perf_counter()
result = video.classify_video(
    snakemake.input.video,
    model,
    detector,
    sample_fps=params.video_fps,
    margin=params.margin,
    tta_flip=params.tta_flip,
    temperature=temperature,
    max_pixels=params.max_pixels,
    min_iou=params.track_min_iou,
    max_missed=params.track_max_missed,
    annotated=output.annotated,
)
elapsed = time.perf_counter() - start
video.check_written_video(output.annotated, result.frames)
per_frame = {step: f"{1000 * s / max(1, result.frames):.1f} ms" for step, s in result.seconds.items()}
logging.info(
    "%s: %.2f s of video in %.2f s (%.2fx real time, model loading not counted), %d sampled frames; per frame: %s",
    snakemake.input.video, result.info.duration, elapsed, result.info.duration / elapsed, result.frames, per_frame,
)  # fmt: skip
result.table.to_csv(output.table, index=False)
fig = video.timeline_figure(
    result.table, snakemake.wildcards.video, params.timeline_smooth_s, min(params.video_fps, result.info.fps)
)
plots.save(fig, output.timeline)

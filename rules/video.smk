# Classify the faces in videos (classify.videos): one job per video, so a
# truncated or unreadable video fails its own job and no other (run with
# --keep-going to let the others finish). The videos are listed when the
# workflow starts (files, folders, glob patterns), as the photos are.
include: "video_inputs.smk"


rule classify_video:
    input:
        # the photos' model, and calibration (its temperature) where it has one
        unpack(classify_model_inputs),
        video=lambda wildcards: VIDEOS[wildcards.video],
    output:
        table=R("classify/videos/{video}.csv"),
        timeline=report(
            R("classify/videos/{video}_timeline.png"),
            caption="../report/classify_video_timeline.rst",
            category="Your videos",
            labels={"video": "{video}"},
        ),
        annotated=R("classify/videos/{video}_annotated.mp4"),
    log:
        R("logs/classify_video/{video}.log"),
    benchmark:
        R("timings/classify_video/{video}.tsv")
    wildcard_constraints:
        video="[^/]+",
    conda:
        "../envs/fer.yaml"
    threads: 2
    params:
        video_fps=lookup(dpath="classify/video_fps", within=config),
        detector=lookup(dpath="classify/detector", within=config),
        max_pixels=lookup(dpath="classify/max_pixels", within=config),
        margin=lookup(dpath="classify/margin", within=config),
        min_face_size=lookup(dpath="classify/min_face_size", within=config),
        scale_factor=lookup(dpath="classify/scale_factor", within=config),
        min_neighbors=lookup(dpath="classify/min_neighbors", within=config),
        tta_flip=lookup(dpath="classify/tta_flip", within=config),
        track_min_iou=lookup(dpath="classify/track_min_iou", within=config),
        track_max_missed=lookup(dpath="classify/track_max_missed", within=config),
        timeline_smooth_s=lookup(dpath="classify/timeline_smooth_s", within=config),
        model=lambda wildcards: classify_model()["description"],
        warning=lambda wildcards: classify_warning(),
    script:
        "../scripts/classify_video.py"

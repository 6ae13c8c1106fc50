# Classify your own photos (classify.images: folders, files, glob patterns):
# one job per photo, so adding photos runs only the new ones; then one table
# and the contact sheet. The photos are listed when the workflow starts
# (classify_photos in common.smk), not by a checkpoint: they are inputs, not
# made by a rule. The model is the shipped FER2013 CNN unless classify.model
# names another (classify_model); its temperature calibrates the probabilities.


rule classify_photo:
    input:
        # model, and calibration (the file with its temperature) where it has one
        unpack(classify_model_inputs),
        photo=classify_photo_path,
    output:
        table=R("classify/faces/{photo}.csv"),
        crops=R("classify/faces/{photo}.npz"),
        annotated=R("classify/annotated/{photo}.png"),
    log:
        R("logs/classify_photo/{photo}.log"),
    benchmark:
        R("timings/classify_photo/{photo}.tsv")
    wildcard_constraints:
        photo="[^/]+",
    conda:
        "../envs/fer.yaml"
    threads: 1
    params:
        on_unreadable=lookup(dpath="classify/on_unreadable", within=config),
        detector=lookup(dpath="classify/detector", within=config),
        margin=lookup(dpath="classify/margin", within=config),
        min_face_size=lookup(dpath="classify/min_face_size", within=config),
        scale_factor=lookup(dpath="classify/scale_factor", within=config),
        min_neighbors=lookup(dpath="classify/min_neighbors", within=config),
        tta_flip=lookup(dpath="classify/tta_flip", within=config),
        max_pixels=lookup(dpath="classify/max_pixels", within=config),
        model=lambda wildcards: classify_model()["description"],
        warning=lambda wildcards: classify_warning(),
    script:
        "../scripts/classify_photo.py"


rule collect_classified_photos:
    input:
        tables=lambda wildcards: expand(
            rules.classify_photo.output.table, photo=classify_photo_names()
        ),
        crops=lambda wildcards: expand(
            rules.classify_photo.output.crops, photo=classify_photo_names()
        ),
    output:
        predictions=report(
            R("classify/predictions.csv"),
            caption="../report/classify_predictions.rst",
            category="Your photos",
        ),
        contact_sheet=report(
            R("figures/classify_contact_sheet.png"),
            caption="../report/classify_contact_sheet.rst",
            category="Your photos",
        ),
    log:
        R("logs/collect_classified_photos.log"),
    benchmark:
        R("timings/collect_classified_photos.tsv")
    conda:
        "../envs/fer.yaml"
    params:
        model=lambda wildcards: classify_model()["description"],
        warning=lambda wildcards: classify_warning(),
    script:
        "../scripts/collect_classified_photos.py"

# Classify your own photos (classify.images): one job per photo, so adding
# photos runs only the new ones; then one table and the contact sheet.
# The photos are listed when the workflow starts (classify_photo_names in
# common.smk), not by a checkpoint: they are inputs, not made by a rule.


rule classify_photo:
    input:
        photo=classify_photo_path,
        model=R("models/cnn.keras"),
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
    script:
        "../scripts/collect_classified_photos.py"

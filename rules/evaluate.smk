# Evaluation: predictions, metrics table, confusion matrices with the
# most-confused pairs, the test submission, and the runs side by side.


rule predict_model:
    input:
        model=rules.train_model.output.model,
        dataset=rules.split_data.output.dataset,
    output:
        predictions=R("eval/predictions_{model}.npz"),
    log:
        R("logs/predict_model_{model}.log"),
    benchmark:
        R("timings/predict_model_{model}.tsv")
    conda:
        "../envs/fer.yaml"
    threads: 2
    resources:
        mem_mb=4000,
    params:
        shift=lookup(dpath="predict/tta_shift", within=config),
    script:
        "../scripts/predict_model.py"


# One temperature per model, fitted on the validation split after training
# (Guo et al. 2017): the calibration record and the reliability diagram. The
# labels do not change (the submission neither); photos use the calibrated
# probabilities.
rule calibrate_model:
    input:
        predictions=rules.predict_model.output.predictions,
        dataset=rules.split_data.output.dataset,
    output:
        calibration=R("eval/calibration_{model}.json"),
        figure=report(
            R("figures/reliability_{model}.png"),
            caption="../report/reliability.rst",
            category="Evaluation",
            subcategory="{model}",
        ),
    log:
        R("logs/calibrate_model_{model}.log"),
    benchmark:
        R("timings/calibrate_model_{model}.tsv")
    conda:
        "../envs/light.yaml"
    script:
        "../scripts/calibrate_model.py"


rule plot_confusion_matrix:
    input:
        predictions=rules.predict_model.output.predictions,
        dataset=rules.split_data.output.dataset,
    output:
        figure=report(
            R("figures/confusion_matrix_{model}.png"),
            caption="../report/confusion_matrix.rst",
            category="Evaluation",
            subcategory="{model}",
        ),
        pairs=report(
            R("eval/confused_pairs_{model}.csv"),
            caption="../report/confused_pairs.rst",
            category="Evaluation",
            subcategory="{model}",
        ),
    log:
        R("logs/plot_confusion_matrix_{model}.log"),
    benchmark:
        R("timings/plot_confusion_matrix_{model}.tsv")
    conda:
        "../envs/light.yaml"
    params:
        split=lookup(dpath="evaluate/split", within=config),
        top_k=lookup(dpath="evaluate/top_k_pairs", within=config),
    script:
        "../scripts/plot_confusion_matrix.py"


rule metrics_table:
    input:
        predictions=expand(rules.predict_model.output.predictions, model=MODELS),
        records=expand(rules.train_model.output.record, model=MODELS),
        pairs=expand(rules.plot_confusion_matrix.output.pairs, model=MODELS),
        calibrations=expand(R("eval/calibration_{model}.json"), model=MODELS),
        dataset=rules.split_data.output.dataset,
        # the whole training file: which test images have a copy in it
        raw=rules.read_data.output.raw,
    output:
        csv=report(
            R("metrics.csv"),
            caption="../report/metrics.rst",
            category="Evaluation",
        ),
        md=report(
            R("metrics.md"),
            caption="../report/metrics.rst",
            category="Evaluation",
        ),
        html=report(
            R("metrics.html"),
            caption="../report/metrics.rst",
            category="Evaluation",
        ),
    log:
        R("logs/metrics_table.log"),
    benchmark:
        R("timings/metrics_table.tsv")
    conda:
        "../envs/light.yaml"
    params:
        models=MODELS,
        # a test face with a training face within this many gray levels is seen
        near_duplicate_max_diff=lookup(
            dpath="data/near_duplicate_max_diff", within=config
        ),
    script:
        "../scripts/metrics_table.py"


rule write_submission:
    input:
        predictions=for_model(
            rules.predict_model.output.predictions, config["predict"]["model"]
        ),
        dataset=rules.split_data.output.dataset,
    output:
        submission=report(
            R("submission.csv"),
            caption="../report/submission.rst",
            category="Evaluation",
        ),
    log:
        R("logs/write_submission.log"),
    benchmark:
        R("timings/write_submission.tsv")
    conda:
        "../envs/light.yaml"
    params:
        model=lookup(dpath="predict/model", within=config),
        tta_flip=lookup(dpath="predict/tta_flip", within=config),
        tta_shift=lookup(dpath="predict/tta_shift", within=config),
    script:
        "../scripts/write_submission.py"


# Runs side by side: one table over every run under results/ (the built-in
# run and each preset's folder), whatever the current config. Not part of
# `all`: ask for it with `snakemake results/runs.md`.
rule compare_runs:
    input:
        tables=lambda wildcards: [str(path) for path in runs.find("results")],
    output:
        csv="results/runs.csv",
        md=report(
            "results/runs.md", caption="../report/runs.rst", category="Evaluation"
        ),
    log:
        "results/logs/compare_runs.log",
    benchmark:
        "results/timings/compare_runs.tsv"
    conda:
        "../envs/light.yaml"
    script:
        "../scripts/compare_runs.py"

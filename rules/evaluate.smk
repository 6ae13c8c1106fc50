# Evaluation: predictions, metrics table, confusion matrices with the
# most-confused pairs, architecture figures, and the test submission.


rule predict_model:
    input:
        model="results/models/{model}.keras",
        dataset="results/data/dataset.npz",
    output:
        predictions="results/eval/predictions_{model}.npz",
    log:
        "results/logs/predict_model_{model}.log",
    benchmark:
        "results/benchmarks/predict_model_{model}.tsv"
    conda:
        "../envs/fer.yaml"
    threads: 2
    resources:
        mem_mb=4000,
    script:
        "../scripts/predict_model.py"


rule plot_confusion_matrix:
    input:
        predictions="results/eval/predictions_{model}.npz",
        dataset="results/data/dataset.npz",
    output:
        figure=report(
            "results/figures/confusion_matrix_{model}.png",
            caption="../report/confusion_matrix.rst",
            category="Evaluation",
            subcategory="{model}",
        ),
        pairs=report(
            "results/eval/confused_pairs_{model}.csv",
            caption="../report/confused_pairs.rst",
            category="Evaluation",
            subcategory="{model}",
        ),
    log:
        "results/logs/plot_confusion_matrix_{model}.log",
    benchmark:
        "results/benchmarks/plot_confusion_matrix_{model}.tsv"
    conda:
        "../envs/fer.yaml"
    params:
        split=lookup(dpath="evaluate/split", within=config),
        top_k=lookup(dpath="evaluate/top_k_pairs", within=config),
    script:
        "../scripts/plot_confusion_matrix.py"


rule metrics_table:
    input:
        predictions=expand("results/eval/predictions_{model}.npz", model=MODELS),
        histories=expand("results/models/{model}.history.csv", model=MODELS),
        summaries=expand("results/models/{model}.summary.txt", model=MODELS),
        pairs=expand("results/eval/confused_pairs_{model}.csv", model=MODELS),
        dataset="results/data/dataset.npz",
        # the whole training file: which test images have a copy in it
        raw="results/data/raw.npz",
    output:
        csv=report(
            "results/metrics.csv",
            caption="../report/metrics.rst",
            category="Evaluation",
        ),
        md=report(
            "results/metrics.md",
            caption="../report/metrics.rst",
            category="Evaluation",
        ),
        html=report(
            "results/metrics.html",
            caption="../report/metrics.rst",
            category="Evaluation",
        ),
    log:
        "results/logs/metrics_table.log",
    benchmark:
        "results/benchmarks/metrics_table.tsv"
    conda:
        "../envs/fer.yaml"
    params:
        models=MODELS,
    script:
        "../scripts/metrics_table.py"


rule write_submission:
    input:
        predictions=lambda wildcards: (
            f"results/eval/predictions_{config['predict']['model']}.npz"
        ),
        dataset="results/data/dataset.npz",
    output:
        submission=report(
            "results/submission.csv",
            caption="../report/submission.rst",
            category="Evaluation",
        ),
    log:
        "results/logs/write_submission.log",
    benchmark:
        "results/benchmarks/write_submission.tsv"
    conda:
        "../envs/fer.yaml"
    params:
        model=lookup(dpath="predict/model", within=config),
        tta_flip=lookup(dpath="predict/tta_flip", within=config),
    script:
        "../scripts/write_submission.py"


rule plot_architecture:
    input:
        model="results/models/{model}.keras",
    output:
        figure=report(
            "results/figures/architecture_{model}.png",
            caption="../report/architecture.rst",
            category="Training",
            subcategory="{model}",
        ),
    log:
        "results/logs/plot_architecture_{model}.log",
    benchmark:
        "results/benchmarks/plot_architecture_{model}.tsv"
    conda:
        "../envs/fer.yaml"
    script:
        "../scripts/plot_architecture.py"

# Explainability of the CNN: saliency maps (checked against the synthetic
# faces' cue masks), gradient-ascent filter images, feature maps on a face.


wildcard_constraints:
    layer=r"block\d+_conv\d+",


rule plot_saliency:
    input:
        model="results/models/cnn.keras",
        dataset="results/data/dataset.npz",
    output:
        figure=report(
            "results/figures/saliency.png",
            caption="../report/saliency.rst",
            category="Explainability",
        ),
    log:
        "results/logs/plot_saliency.log",
    benchmark:
        "results/benchmarks/plot_saliency.tsv"
    conda:
        "../envs/fer.yaml"
    threads: 2
    params:
        n_images=lookup(dpath="saliency/n_images", within=config),
        method=lookup(dpath="saliency/method", within=config),
        target=lookup(dpath="saliency/target", within=config),
        smooth_samples=lookup(dpath="saliency/smooth_samples", within=config),
        noise=lookup(dpath="saliency/noise", within=config),
        seed=lookup(dpath="seed", within=config),
    script:
        "../scripts/plot_saliency.py"


rule score_saliency:
    input:
        unpack(mask_inputs),
        model="results/models/cnn.keras",
        dataset="results/data/dataset.npz",
    output:
        scores=report(
            "results/eval/saliency_scores.csv",
            caption="../report/saliency_scores.rst",
            category="Explainability",
        ),
    log:
        "results/logs/score_saliency.log",
    benchmark:
        "results/benchmarks/score_saliency.tsv"
    conda:
        "../envs/fer.yaml"
    threads: 2
    params:
        method=lookup(dpath="saliency/method", within=config),
        smooth_samples=lookup(dpath="saliency/smooth_samples", within=config),
        noise=lookup(dpath="saliency/noise", within=config),
        deletion_fraction=lookup(dpath="saliency/deletion_fraction", within=config),
        n_images=lookup(dpath="saliency/n_score_images", within=config),
        seed=lookup(dpath="seed", within=config),
    script:
        "../scripts/score_saliency.py"


rule plot_filters:
    input:
        model="results/models/cnn.keras",
    output:
        figure=report(
            "results/figures/filters_{layer}.png",
            caption="../report/filters.rst",
            category="Explainability",
        ),
        histogram=report(
            "results/figures/filter_classes_{layer}.png",
            caption="../report/filter_classes.rst",
            category="Explainability",
        ),
        classes=report(
            "results/eval/filter_classes_{layer}.csv",
            caption="../report/filter_classes_table.rst",
            category="Explainability",
        ),
    log:
        "results/logs/plot_filters_{layer}.log",
    benchmark:
        "results/benchmarks/plot_filters_{layer}.tsv"
    conda:
        "../envs/fer.yaml"
    threads: 2
    params:
        n_filters=lookup(dpath="filters/n_filters", within=config),
        steps=lookup(dpath="filters/steps", within=config),
        learning_rate=lookup(dpath="filters/learning_rate", within=config),
        jitter=lookup(dpath="filters/jitter", within=config),
        tv_weight=lookup(dpath="filters/tv_weight", within=config),
        border=lookup(dpath="filters/border", within=config),
        seed=lookup(dpath="seed", within=config),
    script:
        "../scripts/plot_filters.py"


rule plot_activations:
    input:
        model="results/models/cnn.keras",
        dataset="results/data/dataset.npz",
    output:
        figure=report(
            "results/figures/activations_{layer}.png",
            caption="../report/activations.rst",
            category="Explainability",
        ),
    log:
        "results/logs/plot_activations_{layer}.log",
    benchmark:
        "results/benchmarks/plot_activations_{layer}.tsv"
    conda:
        "../envs/fer.yaml"
    params:
        image_index=lookup(dpath="activations/image_index", within=config),
        max_maps=lookup(dpath="activations/max_maps", within=config),
    script:
        "../scripts/plot_activations.py"

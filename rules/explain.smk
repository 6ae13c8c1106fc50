# Explainability of the CNN: saliency maps (checked against the synthetic
# faces' cue masks, deletion/insertion faithfulness, a sanity check, where
# the mass falls by class), gradient-ascent filter images, feature maps on a face.

from fer_workflow import CONV_LAYER_PATTERN


wildcard_constraints:
    layer=CONV_LAYER_PATTERN,


rule plot_saliency:
    input:
        model=R("models/cnn.keras"),
        dataset=rules.split_data.output.dataset,
        predictions=R("eval/predictions_cnn.npz"),
    output:
        figure=report(
            R("figures/saliency.png"),
            caption="../report/saliency.rst",
            category="Explainability",
        ),
    log:
        R("logs/plot_saliency.log"),
    benchmark:
        R("timings/plot_saliency.tsv")
    conda:
        "../envs/fer.yaml"
    threads: 2
    params:
        n_images=lookup(dpath="saliency/n_images", within=config),
        method=lookup(dpath="saliency/method", within=config),
        target=lookup(dpath="saliency/target", within=config),
        smooth_samples=lookup(dpath="saliency/smooth_samples", within=config),
        noise=lookup(dpath="saliency/noise", within=config),
        ig_steps=lookup(dpath="saliency/ig_steps", within=config),
        ig_baseline=lookup(dpath="saliency/ig_baseline", within=config),
        baseline_blur=lookup(dpath="saliency/baseline_blur", within=config),
        gradcam_layer=lookup(dpath="saliency/gradcam_layer", within=config),
        seed=lookup(dpath="seed", within=config),
    script:
        "../scripts/plot_saliency.py"


rule score_saliency:
    input:
        unpack(mask_inputs),
        model=R("models/cnn.keras"),
        dataset=rules.split_data.output.dataset,
    output:
        scores=report(
            R("eval/saliency_scores.csv"),
            caption="../report/saliency_scores.rst",
            category="Explainability",
        ),
    log:
        R("logs/score_saliency.log"),
    benchmark:
        R("timings/score_saliency.tsv")
    conda:
        "../envs/fer.yaml"
    threads: 2
    params:
        methods=lookup(dpath="saliency/faithfulness/methods", within=config),
        smooth_samples=lookup(dpath="saliency/smooth_samples", within=config),
        noise=lookup(dpath="saliency/noise", within=config),
        ig_steps=lookup(dpath="saliency/ig_steps", within=config),
        ig_baseline=lookup(dpath="saliency/ig_baseline", within=config),
        baseline_blur=lookup(dpath="saliency/baseline_blur", within=config),
        gradcam_layer=lookup(dpath="saliency/gradcam_layer", within=config),
        deletion_fraction=lookup(dpath="saliency/deletion_fraction", within=config),
        n_images=lookup(dpath="saliency/n_score_images", within=config),
        seed=lookup(dpath="seed", within=config),
    script:
        "../scripts/score_saliency.py"


rule evaluate_faithfulness:
    input:
        model=R("models/cnn.keras"),
        dataset=rules.split_data.output.dataset,
        predictions=R("eval/predictions_cnn.npz"),
    output:
        table=report(
            R("eval/faithfulness.csv"),
            caption="../report/faithfulness_table.rst",
            category="Explainability",
        ),
        figure=report(
            R("figures/faithfulness.png"),
            caption="../report/faithfulness.rst",
            category="Explainability",
        ),
        # Per-face AUCs, sanity correlations and region shares (for the findings).
        faces=R("eval/faithfulness_faces.npz"),
    log:
        R("logs/evaluate_faithfulness.log"),
    benchmark:
        R("timings/evaluate_faithfulness.tsv")
    conda:
        "../envs/fer.yaml"
    threads: 2
    params:
        n_images=lookup(dpath="saliency/faithfulness/n_images", within=config),
        steps=lookup(dpath="saliency/faithfulness/steps", within=config),
        blur_sigma=lookup(dpath="saliency/faithfulness/blur_sigma", within=config),
        methods=lookup(dpath="saliency/faithfulness/methods", within=config),
        sanity_threshold=lookup(
            dpath="saliency/faithfulness/sanity_threshold", within=config
        ),
        road_fractions=lookup(
            dpath="saliency/faithfulness/road_fractions", within=config
        ),
        road_noise=lookup(dpath="saliency/faithfulness/road_noise", within=config),
        regions=lookup(dpath="saliency/regions", within=config),
        smooth_samples=lookup(dpath="saliency/smooth_samples", within=config),
        noise=lookup(dpath="saliency/noise", within=config),
        ig_steps=lookup(dpath="saliency/ig_steps", within=config),
        ig_baseline=lookup(dpath="saliency/ig_baseline", within=config),
        baseline_blur=lookup(dpath="saliency/baseline_blur", within=config),
        gradcam_layer=lookup(dpath="saliency/gradcam_layer", within=config),
        seed=lookup(dpath="seed", within=config),
    script:
        "../scripts/evaluate_faithfulness.py"


rule evaluate_cascading_randomisation:
    input:
        model=R("models/cnn.keras"),
        dataset=rules.split_data.output.dataset,
        predictions=R("eval/predictions_cnn.npz"),
    output:
        table=report(
            R("eval/cascading_randomisation.csv"),
            caption="../report/cascading_randomisation_table.rst",
            category="Explainability",
        ),
        figure=report(
            R("figures/cascading_randomisation.png"),
            caption="../report/cascading_randomisation.rst",
            category="Explainability",
        ),
    log:
        R("logs/evaluate_cascading_randomisation.log"),
    benchmark:
        R("timings/evaluate_cascading_randomisation.tsv")
    conda:
        "../envs/fer.yaml"
    threads: 2
    params:
        n_images=lookup(dpath="saliency/cascading/n_images", within=config),
        methods=lookup(dpath="saliency/faithfulness/methods", within=config),
        smooth_samples=lookup(dpath="saliency/smooth_samples", within=config),
        noise=lookup(dpath="saliency/noise", within=config),
        ig_steps=lookup(dpath="saliency/ig_steps", within=config),
        ig_baseline=lookup(dpath="saliency/ig_baseline", within=config),
        baseline_blur=lookup(dpath="saliency/baseline_blur", within=config),
        gradcam_layer=lookup(dpath="saliency/gradcam_layer", within=config),
        seed=lookup(dpath="seed", within=config),
    script:
        "../scripts/evaluate_cascading_randomisation.py"


rule plot_saliency_by_class:
    input:
        model=R("models/cnn.keras"),
        dataset=rules.split_data.output.dataset,
        predictions=R("eval/predictions_cnn.npz"),
    output:
        figure=report(
            R("figures/saliency_by_class.png"),
            caption="../report/saliency_by_class.rst",
            category="Explainability",
        ),
        table=report(
            R("eval/saliency_regions.csv"),
            caption="../report/saliency_regions.rst",
            category="Explainability",
        ),
    log:
        R("logs/plot_saliency_by_class.log"),
    benchmark:
        R("timings/plot_saliency_by_class.tsv")
    conda:
        "../envs/fer.yaml"
    threads: 2
    params:
        method=lookup(dpath="saliency/by_class/method", within=config),
        max_per_class=lookup(dpath="saliency/by_class/max_per_class", within=config),
        regions=lookup(dpath="saliency/regions", within=config),
        smooth_samples=lookup(dpath="saliency/smooth_samples", within=config),
        noise=lookup(dpath="saliency/noise", within=config),
        ig_steps=lookup(dpath="saliency/ig_steps", within=config),
        ig_baseline=lookup(dpath="saliency/ig_baseline", within=config),
        baseline_blur=lookup(dpath="saliency/baseline_blur", within=config),
        gradcam_layer=lookup(dpath="saliency/gradcam_layer", within=config),
        seed=lookup(dpath="seed", within=config),
    script:
        "../scripts/plot_saliency_by_class.py"


rule plot_filters:
    input:
        model=R("models/cnn.keras"),
        dataset=rules.split_data.output.dataset,
    output:
        figure=report(
            R("figures/filters_{layer}.png"),
            caption="../report/filters.rst",
            category="Explainability",
        ),
        histogram=report(
            R("figures/filter_classes_{layer}.png"),
            caption="../report/filter_classes.rst",
            category="Explainability",
        ),
        classes=report(
            R("eval/filter_classes_{layer}.csv"),
            caption="../report/filter_classes_table.rst",
            category="Explainability",
        ),
    log:
        R("logs/plot_filters_{layer}.log"),
    benchmark:
        R("timings/plot_filters_{layer}.tsv")
    conda:
        "../envs/fer.yaml"
    threads: 2
    params:
        n_filters=lookup(dpath="filters/n_filters", within=config),
        steps=lookup(dpath="filters/steps", within=config),
        learning_rate=lookup(dpath="filters/learning_rate", within=config),
        jitter=lookup(dpath="filters/jitter", within=config),
        rotation=lookup(dpath="filters/rotation", within=config),
        tv_weight=lookup(dpath="filters/tv_weight", within=config),
        l2_weight=lookup(dpath="filters/l2_weight", within=config),
        blur_every=lookup(dpath="filters/blur_every", within=config),
        blur_sigma=lookup(dpath="filters/blur_sigma", within=config),
        start_noise=lookup(dpath="filters/start_noise", within=config),
        border=lookup(dpath="filters/border", within=config),
        n_crops=lookup(dpath="filters/n_crops", within=config),
        seed=lookup(dpath="seed", within=config),
    script:
        "../scripts/plot_filters.py"


rule plot_activations:
    input:
        model=R("models/cnn.keras"),
        dataset=rules.split_data.output.dataset,
    output:
        figure=report(
            R("figures/activations_{layer}.png"),
            caption="../report/activations.rst",
            category="Explainability",
        ),
    log:
        R("logs/plot_activations_{layer}.log"),
    benchmark:
        R("timings/plot_activations_{layer}.tsv")
    conda:
        "../envs/fer.yaml"
    params:
        image_index=lookup(dpath="activations/image_index", within=config),
        max_maps=lookup(dpath="activations/max_maps", within=config),
    script:
        "../scripts/plot_activations.py"

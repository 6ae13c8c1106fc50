# Explainability of the CNN: saliency maps (deletion/insertion and ROAD
# faithfulness, a sanity check, the synthetic faces' cue masks, where the
# mass falls by class), gradient-ascent filter images, feature maps on a face.

from fer_workflow import CONV_LAYER_PATTERN


wildcard_constraints:
    layer=CONV_LAYER_PATTERN,


rule plot_saliency:
    input:
        model=for_cnn(rules.train_model.output.model),
        dataset=rules.split_data.output.dataset,
        predictions=for_cnn(rules.predict_model.output.predictions),
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
        method_options=saliency_method_options(),
        seed=lookup(dpath="seed", within=config),
    script:
        "../scripts/plot_saliency.py"


rule evaluate_faithfulness:
    input:
        unpack(mask_inputs),
        model=for_cnn(rules.train_model.output.model),
        dataset=rules.split_data.output.dataset,
        predictions=for_cnn(rules.predict_model.output.predictions),
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
        # From the same maps: the deletion test at one fraction, the cue masks' share.
        scores=report(
            R("eval/saliency_scores.csv"),
            caption="../report/saliency_scores.rst",
            category="Explainability",
        ),
    log:
        R("logs/evaluate_faithfulness.log"),
    benchmark:
        R("timings/evaluate_faithfulness.tsv")
    conda:
        "../envs/fer.yaml"
    threads: 2
    params:
        # n_images, steps, blur_sigma, methods, sanity_threshold: all read here
        faithfulness=lookup(dpath="saliency/faithfulness", within=config),
        regions=lookup(dpath="saliency/regions", within=config),
        deletion_fraction=lookup(dpath="saliency/deletion_fraction", within=config),
        method_options=saliency_method_options(),
        seed=lookup(dpath="seed", within=config),
    script:
        "../scripts/evaluate_faithfulness.py"


rule evaluate_cascading_randomisation:
    input:
        model=for_cnn(rules.train_model.output.model),
        dataset=rules.split_data.output.dataset,
        predictions=for_cnn(rules.predict_model.output.predictions),
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
        method_options=saliency_method_options(),
        seed=lookup(dpath="seed", within=config),
    script:
        "../scripts/evaluate_cascading_randomisation.py"


rule plot_saliency_by_class:
    input:
        unpack(mask_inputs),
        model=for_cnn(rules.train_model.output.model),
        dataset=rules.split_data.output.dataset,
        predictions=for_cnn(rules.predict_model.output.predictions),
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
        # method, max_per_class
        by_class=lookup(dpath="saliency/by_class", within=config),
        regions=lookup(dpath="saliency/regions", within=config),
        method_options=saliency_method_options(),
        seed=lookup(dpath="seed", within=config),
    script:
        "../scripts/plot_saliency_by_class.py"


rule plot_filters:
    input:
        model=for_cnn(rules.train_model.output.model),
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
        # The tests of those classes against the null network's (the findings word them).
        tests=R("eval/filter_tests_{layer}.csv"),
    log:
        R("logs/plot_filters_{layer}.log"),
    benchmark:
        R("timings/plot_filters_{layer}.tsv")
    conda:
        "../envs/fer.yaml"
    threads: 2
    params:
        n_filters=lookup(dpath="filters/n_filters", within=config),
        ascent=filter_ascent_options(),
        n_crops=lookup(dpath="filters/n_crops", within=config),
        seed=lookup(dpath="seed", within=config),
    script:
        "../scripts/plot_filters.py"


rule plot_activations:
    input:
        model=for_cnn(rules.train_model.output.model),
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

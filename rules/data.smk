# Data: built-in synthetic faces, reading and validating the input,
# the stratified split, and a look at the faces.


rule generate_synthetic:
    output:
        train="resources/synthetic/train.csv",
        test="resources/synthetic/test.csv",
        test_labels="resources/synthetic/test_labels.csv",
        masks="resources/synthetic/masks.npz",
        # simulated FER+ votes of the training and test faces
        votes="resources/synthetic/votes.csv",
    log:
        R("logs/generate_synthetic.log"),
    benchmark:
        R("timings/generate_synthetic.tsv")
    conda:
        "../envs/fer.yaml"
    params:
        n_train=lookup(dpath="synthetic/n_train", within=config),
        n_test=lookup(dpath="synthetic/n_test", within=config),
        seed=lookup(dpath="synthetic/seed", within=config),
    script:
        "../scripts/generate_synthetic.py"


rule read_data:
    input:
        unpack(raw_inputs),
    output:
        raw=R("data/raw.npz"),
    log:
        R("logs/read_data.log"),
    benchmark:
        R("timings/read_data.tsv")
    conda:
        "../envs/fer.yaml"
    resources:
        # Reading the 28,709-row FER2013 training file peaks at ~550 MB.
        mem_mb=1500,
    params:
        format=lookup(dpath="data/format", within=config),
    script:
        "../scripts/read_data.py"


rule split_data:
    input:
        raw=rules.read_data.output.raw,
    output:
        dataset=R("data/dataset.npz"),
        counts=report(
            R("data/class_counts.csv"),
            caption="../report/class_counts.rst",
            category="Data",
        ),
        quality=report(
            R("data/data_quality.csv"),
            caption="../report/data_quality.rst",
            category="Data",
        ),
    log:
        R("logs/split_data.log"),
    benchmark:
        R("timings/split_data.tsv")
    conda:
        "../envs/fer.yaml"
    params:
        validation_fraction=lookup(dpath="data/validation_fraction", within=config),
        near_duplicate_max_diff=lookup(
            dpath="data/near_duplicate_max_diff", within=config
        ),
        drop_duplicates=lookup(dpath="data/drop_duplicates", within=config),
        drop_not_faces=lookup(dpath="data/drop_not_faces", within=config),
        seed=lookup(dpath="seed", within=config),
        # Config values only the data can judge (checked before training). An
        # object, not a number, so Snakemake leaves it out of its params-changed
        # rerun trigger: a new activations.image_index must not re-split and retrain.
        checks=lambda wildcards: SimpleNamespace(
            image_index=config["activations"]["image_index"],
            evaluate_split=config["evaluate"]["split"],
        ),
    script:
        "../scripts/split_data.py"


rule plot_samples:
    input:
        dataset=rules.split_data.output.dataset,
    output:
        figure=report(
            R("figures/samples.png"),
            caption="../report/samples.rst",
            category="Data",
        ),
    log:
        R("logs/plot_samples.log"),
    benchmark:
        R("timings/plot_samples.tsv")
    conda:
        "../envs/fer.yaml"
    params:
        per_class=lookup(dpath="samples/per_class", within=config),
        seed=lookup(dpath="seed", within=config),
    script:
        "../scripts/plot_samples.py"

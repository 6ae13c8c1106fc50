# Training: one rule for both models; the DNN's widths follow the CNN's
# parameter count, so the CNN's architecture is a parameter of both. Each
# model's recipe is `train` with its `train_overrides` merged over it
# (fer_workflow.models.recipes), so an override retrains that model alone. Then
# the learning curves and each model's architecture figure.


rule train_model:
    input:
        dataset=rules.split_data.output.dataset,
    output:
        model=R("models/{model}.keras"),
        history=R("models/{model}.history.csv"),
        # the facts other rules read (parameters, FLOPs, epochs, ...)
        record=R("models/{model}.json"),
        summary=R("models/{model}.summary.txt"),
    log:
        R("logs/train_{model}.log"),
    benchmark:
        R("timings/train_{model}.tsv")
    conda:
        "../envs/fer.yaml"
    threads: 4
    # A GPU is requested through the profile (profiles/slurm: set-resources
    # train_model: gpu: 1), not here, so local CPU runs are unaffected.
    resources:
        mem_mb=6000,
        runtime=240,
    params:
        cnn=lookup(dpath="cnn", within=config),
        dnn=lambda wildcards: config["dnn"] if wildcards.model == "dnn" else None,
        train=lambda wildcards: recipes.recipe(config, wildcards.model),
        seed=lookup(dpath="seed", within=config),
        backup_dir=lambda wildcards: R(f"models/.{wildcards.model}.backup"),
    script:
        "../scripts/train_model.py"


rule plot_learning_curves:
    input:
        histories=expand(rules.train_model.output.history, model=MODELS),
        records=expand(rules.train_model.output.record, model=MODELS),
    output:
        figure=report(
            R("figures/learning_curves.png"),
            caption="../report/learning_curves.rst",
            category="Training",
        ),
    log:
        R("logs/plot_learning_curves.log"),
    benchmark:
        R("timings/plot_learning_curves.tsv")
    conda:
        "../envs/light.yaml"
    params:
        models=MODELS,
    script:
        "../scripts/plot_learning_curves.py"


rule plot_architecture:
    input:
        model=rules.train_model.output.model,
    output:
        figure=report(
            R("figures/architecture_{model}.png"),
            caption="../report/architecture.rst",
            category="Training",
            subcategory="{model}",
        ),
    log:
        R("logs/plot_architecture_{model}.log"),
    benchmark:
        R("timings/plot_architecture_{model}.tsv")
    conda:
        "../envs/fer.yaml"
    script:
        "../scripts/plot_architecture.py"

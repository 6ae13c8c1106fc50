# Replicate seeds (replicates.seeds): each (model, seed) pair is its own
# training job (rule train_model with only the seed and the paths changed)
# and its own prediction job (rule predict_model with only the paths
# changed), so a cluster trains them side by side; one rule aggregates them.


use rule train_model as train_replicate with:
    output:
        model=R("replicates/{model}_seed{seed}.keras"),
        history=R("replicates/{model}_seed{seed}.history.csv"),
        record=R("replicates/{model}_seed{seed}.json"),
        summary=R("replicates/{model}_seed{seed}.summary.txt"),
    log:
        R("logs/train_replicate_{model}_seed{seed}.log"),
    benchmark:
        R("timings/train_replicate_{model}_seed{seed}.tsv")
    wildcard_constraints:
        seed=r"\d+",
    params:
        seed=lambda wildcards: int(wildcards.seed),
        backup_dir=lambda wildcards: (
            R(f"replicates/.{wildcards.model}_seed{wildcards.seed}.backup")
        ),


# predict_model on a replicate's model: the same script, threads, resources
# and params (the TTA shift); only the model, the paths and the seed differ.
use rule predict_model as predict_replicate with:
    input:
        model=rules.train_replicate.output.model,
        dataset=rules.split_data.output.dataset,
    output:
        predictions=R("replicates/predictions_{model}_seed{seed}.npz"),
    log:
        R("logs/predict_replicate_{model}_seed{seed}.log"),
    benchmark:
        R("timings/predict_replicate_{model}_seed{seed}.tsv")
    wildcard_constraints:
        seed=r"\d+",


rule aggregate_replicates:
    input:
        predictions=expand(
            rules.predict_replicate.output.predictions,
            model=MODELS,
            seed=config["replicates"]["seeds"],
        ),
        dataset=rules.split_data.output.dataset,
    output:
        csv=report(
            R("replicates.csv"),
            caption="../report/replicates.rst",
            category="Replicates",
        ),
        md=report(
            R("replicates.md"),
            caption="../report/replicates.rst",
            category="Replicates",
        ),
        figure=report(
            R("figures/replicates.png"),
            caption="../report/replicates_figure.rst",
            category="Replicates",
        ),
    log:
        R("logs/aggregate_replicates.log"),
    benchmark:
        R("timings/aggregate_replicates.tsv")
    conda:
        "../envs/light.yaml"
    params:
        models=MODELS,
        seeds=lookup(dpath="replicates/seeds", within=config),
    script:
        "../scripts/aggregate_replicates.py"

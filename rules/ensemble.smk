# A seed ensemble of CNNs (ensemble.seeds): the run's CNN and one more CNN per
# seed, each trained by its own job (rule train_replicate, so a seed shared
# with replicates.seeds is trained once). Its predictions keep the predict
# contract, so the submission can use them (predict.model: ensemble).


rule predict_ensemble:
    input:
        members=[for_cnn(rules.predict_model.output.predictions)]
        + expand(
            rules.predict_replicate.output.predictions,
            model="cnn",
            seed=config["ensemble"]["seeds"],
        ),
        dataset=rules.split_data.output.dataset,
    output:
        predictions=R("eval/predictions_ensemble.npz"),
        csv=report(
            R("eval/ensemble.csv"),
            caption="../report/ensemble.rst",
            category="Evaluation",
        ),
        md=R("eval/ensemble.md"),
    log:
        R("logs/predict_ensemble.log"),
    benchmark:
        R("timings/predict_ensemble.tsv")
    conda:
        "../envs/light.yaml"
    params:
        seed=lookup(dpath="seed", within=config),
        seeds=lookup(dpath="ensemble/seeds", within=config),
        tta_flip=lookup(dpath="predict/tta_flip", within=config),
        tta_shift=lookup(dpath="predict/tta_shift", within=config),
    script:
        "../scripts/predict_ensemble.py"

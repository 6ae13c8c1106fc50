# The study's findings: each claim with its number, interval, paired test and
# verdict, written from the run's own files (the report opens on them).


rule write_findings:
    input:
        unpack(optional_findings_inputs),
        dataset=rules.split_data.output.dataset,
        predictions=expand(rules.predict_model.output.predictions, model=MODELS),
        records=expand(rules.train_model.output.record, model=MODELS),
        faithfulness=rules.evaluate_faithfulness.output.table,
        faithfulness_faces=rules.evaluate_faithfulness.output.faces,
        filter_classes=expand(
            rules.plot_filters.output.classes, layer=config["filters"]["layer"]
        )[0],
        filter_tests=expand(
            rules.plot_filters.output.tests, layer=config["filters"]["layer"]
        )[0],
    output:
        csv=R("findings.csv"),
        md=R("findings.md"),
        html=report(
            R("findings.html"),
            caption="../report/findings.rst",
            category="Findings",
        ),
    log:
        R("logs/write_findings.log"),
    benchmark:
        R("timings/write_findings.tsv")
    conda:
        "../envs/light.yaml"
    params:
        models=MODELS,
        chosen_on_validation=lookup(
            dpath="findings/chosen_on_validation", within=config
        ),
        top_k=lookup(dpath="evaluate/top_k_pairs", within=config),
        sanity_threshold=lookup(
            dpath="saliency/faithfulness/sanity_threshold", within=config
        ),
        saliency_method=lookup(dpath="saliency/method", within=config),
        filter_layer=lookup(dpath="filters/layer", within=config),
    script:
        "../scripts/write_findings.py"

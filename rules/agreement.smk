# Annotator agreement: the FER+ votes (data.votes; the built-in data has
# simulated ones) against the FER2013 labels and the models' answers.


rule annotator_agreement:
    input:
        dataset=rules.split_data.output.dataset,
        predictions=expand(rules.predict_model.output.predictions, model=MODELS),
    output:
        confusion_figure=report(
            R("figures/annotator_confusion.png"),
            caption="../report/annotator_confusion.rst",
            category="Annotators",
        ),
        pairs_figure=report(
            R("figures/agreement_pairs.png"),
            caption="../report/agreement_pairs.rst",
            category="Annotators",
        ),
        confusion=report(
            R("eval/annotator_confusion.csv"),
            caption="../report/annotator_confusion_table.rst",
            category="Annotators",
        ),
        pairs=report(
            R("eval/agreement_pairs.csv"),
            caption="../report/agreement_pairs_table.rst",
            category="Annotators",
        ),
        accuracy=report(
            R("eval/agreement_accuracy.csv"),
            caption="../report/agreement_accuracy.rst",
            category="Annotators",
        ),
        findings=report(
            R("eval/agreement_findings.csv"),
            caption="../report/agreement_findings.rst",
            category="Annotators",
        ),
    log:
        R("logs/annotator_agreement.log"),
    benchmark:
        R("timings/annotator_agreement.tsv")
    conda:
        "../envs/light.yaml"
    params:
        models=MODELS,
        top_k=lookup(dpath="evaluate/top_k_pairs", within=config),
    script:
        "../scripts/annotator_agreement.py"

# The model that classifies photos (classify.model: the shipped CNN by default)
# as ONNX and LiteRT files, for other runtimes (onnxruntime, a browser, a
# phone): a target of its own (snakemake results/export/model.onnx), not part
# of rule all. Its record holds the files' checksums, the ONNX opset, the
# package versions, the temperature and how far each file's probabilities are
# from Keras's on this run's validation faces.


rule export_model:
    input:
        # model, and calibration (the file with its temperature) where it has one
        unpack(classify_model_inputs),
        dataset=rules.split_data.output.dataset,
    output:
        onnx=R("export/model.onnx"),
        litert=R("export/model.tflite"),
        record=R("export/model.json"),
    log:
        R("logs/export_model.log"),
    benchmark:
        R("timings/export_model.tsv")
    conda:
        "../envs/fer.yaml"
    threads: 2
    params:
        opset=lookup(dpath="export/opset", within=config),
        check_faces=lookup(dpath="export/check_faces", within=config),
        model=lambda wildcards: classify_model()["description"],
    script:
        "../scripts/export_model.py"

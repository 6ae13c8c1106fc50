"""Rule predict_model: class probabilities on the validation and test splits,
plain and for horizontally flipped faces (flip test-time augmentation)."""

import logging

from fer_workflow import arrays, data, predict, runtime

runtime.setup(snakemake, tensorflow=True)

model = runtime.load_model(snakemake.input.model)
dataset = data.load(snakemake.input.dataset)
predictions = predict.predict_dataset(model, dataset)
for key, value in predictions.items():
    logging.info("%s: %s", key, value.shape)
arrays.save(snakemake.output.predictions, predictions)

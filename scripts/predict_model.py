"""Rule predict_model: class probabilities on the validation and test splits,
plain and for horizontally flipped faces (flip test-time augmentation), and
with predict.tta_shift the mean over the faces moved that many pixels."""

import logging

from fer_workflow import arrays, data, models, runtime
from fer_workflow.evaluation import predict

runtime.setup(snakemake, tensorflow=True)

model = models.load_model(snakemake.input.model)
dataset = data.load(snakemake.input.dataset)
predictions = predict.predict_dataset(model, dataset, shift=snakemake.params.shift)
for key, value in predictions.items():
    logging.info("%s: %s", key, value.shape)
arrays.save(snakemake.output.predictions, predictions)

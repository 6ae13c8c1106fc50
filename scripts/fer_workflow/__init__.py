"""Library of the FER workflow: data, models, training, metrics, explanations, plots.

Every rule script in ``scripts/`` is a thin adapter around functions here;
they are tested without Snakemake in ``tests/``.
"""

# FER2013 label order.
CLASS_NAMES = ("Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral")
NUM_CLASSES = len(CLASS_NAMES)
IMAGE_SIZE = 48
NUM_PIXELS = IMAGE_SIZE * IMAGE_SIZE

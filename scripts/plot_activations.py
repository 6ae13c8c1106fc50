"""Rule plot_activations: the feature maps of one conv layer (the {layer}
wildcard) for one validation face, beside the face."""

from fer_workflow import data, models, plots, runtime
from fer_workflow.explain import filters
from fer_workflow.plots import explain

runtime.setup(snakemake, tensorflow=True)
params = snakemake.params
layer = snakemake.wildcards.layer

model = models.load_model(snakemake.input.model)
dataset = data.load(snakemake.input.dataset)
index = params.image_index
if index >= len(dataset.x_val):
    raise ValueError(
        f"activations.image_index: {index} is past the validation split "
        f"({len(dataset.x_val)} images, so 0..{len(dataset.x_val) - 1})"
    )
image = dataset.x_val[index]
# Fails naming activations.layer and listing the conv layers if the layer is absent.
maps = filters.filter_activations(model, layer, image)
figure = explain.activation_grid(image, maps, layer, label=dataset.y_val[index], max_maps=params.max_maps)
plots.save(figure, snakemake.output.figure)

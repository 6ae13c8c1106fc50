"""What the CNN looks at: saliency maps, perturbation (one home for every
removal), faithfulness curves, randomisation checks, filter images."""

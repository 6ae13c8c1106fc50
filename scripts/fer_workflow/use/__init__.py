"""The model outside training: detect, classify photos, video, the shipped model."""

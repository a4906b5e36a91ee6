"""Classify: segmentation, the multi-label model, training, metrics and model versions."""

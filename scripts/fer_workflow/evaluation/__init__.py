"""Predictions and what they score: predict (test-time views), metrics,
calibration, stats (the tests), tables, replicates, ensemble, runs side by side."""

"""What a reader sees: figures (loss curves, divergence, the live notebook curve, the PCA word map) and the
small helpers the notebooks call (a backend's code shown, losses printed, the step budget)."""

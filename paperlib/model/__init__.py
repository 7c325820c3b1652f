"""Model: the paper's attention CNN (`network`), its training batches (`batches`), the training of
one fold (`training`), the cross-validation of a run (`cross_validation`, step 03) and the
clip-statistics baseline (`baselines`). Imports `paperlib.data` and `paperlib.core`."""

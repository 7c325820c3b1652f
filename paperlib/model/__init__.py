"""Model: the paper's attention CNN (`network`), the one training program that trains every model
of a run together (`program`), a trained model's folder (`training`), the cross-validation of a run
(`cross_validation`, step 03) and the clip-statistics baseline (`baselines`). Imports
`paperlib.data` and `paperlib.core`."""

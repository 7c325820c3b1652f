"""Model: the paper's attention CNN (`network`), the training recipe (`recipe`), the one training
program that trains every model of a run together (`program`), a trained model's folder in the run
(`store`), the cross-validation of a run (`cross_validation`, step 03), token attributions
(`attribution`) and the clip-statistics baseline (`baselines`). Imports `paperlib.data` and
`paperlib.core`."""

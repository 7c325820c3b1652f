"""Notebook 02's verdicts: TimeDistributed CNN, multi-head attention, softmax weights (section 2.1)."""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import pandas as pd

from paperlib.core.config import Config
from paperlib.core.results import Claim, ModelResult

SOFTMAX_TOLERANCE = 1e-5  # largest |sum of a clip's attention weights - 1| still counted as a softmax


def model_claims(layer_kinds: Collection[str], config: Config, attention_sum_error: float,
                 trainable_parameters: int) -> list[Claim]:
    """Section 2.1 claims from the class names of the model's layers, the largest |sum - 1| of the
    attention weights over a batch and the number of trainable parameters."""
    time_distributed = "TimeDistributed" in layer_kinds
    return [
        Claim("2.1", "a CNN reads each token through TimeDistributed", "TimeDistributed CNN",
              f"TimeDistributed: {time_distributed}", time_distributed),
        Claim("2.1", "multi-head attention over the token sequence", "multi-head attention",
              f"{config.attention_heads} heads over {config.n_tokens} tokens",
              "MultiHeadAttention" in layer_kinds and config.attention_heads > 1),
        Claim("2.1, 3.2", "attention weights are a softmax over the tokens",
              "softmax of the attention scores", f"max |sum - 1| = {attention_sum_error:.1e}",
              bool(attention_sum_error < SOFTMAX_TOLERANCE)),
        Claim("2.1", "layer sizes", "not given", f"{trainable_parameters} trainable parameters", None),
    ]


def model_result(model, counts: pd.DataFrame, outputs: dict[str, np.ndarray],
                 attention_sum_error: float, roundtrip: float, config: Config) -> ModelResult:
    """Notebook 02's typed result from the model, its parameter counts (`parameter_counts`, total
    row last), its outputs on a batch and the save/reload difference; with its claims."""
    total = counts.iloc[-1]
    claims = model_claims({type(layer).__name__ for layer in model.layers}, config,
                          attention_sum_error, trainable_parameters=int(total["trainable"]))
    return ModelResult(
        trainable_parameters=int(total["trainable"]), frozen_parameters=int(total["frozen"]),
        parameters_by_layer=dict(zip(counts["layer"], counts["trainable"].astype(int))),
        output_shapes={k: list(v.shape[1:]) for k, v in outputs.items()},
        attention_sum_max_error=attention_sum_error, roundtrip_max_difference=roundtrip,
        claims=claims)

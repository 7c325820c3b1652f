"""Notebook 02's verdicts: TimeDistributed CNN, multi-head attention, softmax weights (section 2.1)."""

from __future__ import annotations

from collections.abc import Collection

from paperlib.claims.claim import Claim
from paperlib.core.config import Config

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

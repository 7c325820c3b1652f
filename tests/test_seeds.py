"""The run's random streams: one derivation (core.seeds), reproducible across processes, distinct
per purpose and per model, attempt, restart and epoch."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from paperlib.core.config import Config
from paperlib.core.registry import FINAL
from paperlib.core.seeds import PURPOSES, FINAL_KEY, generator, integer_seed, seed_sequence
from paperlib.model.training_state import ModelSpec

KEYS = st.lists(st.integers(min_value=-1, max_value=10_000), min_size=0, max_size=5)


def test_the_final_model_key_is_the_registrys():
    assert FINAL_KEY == FINAL


@given(seed=st.integers(min_value=0, max_value=2**32 - 1), purpose=st.sampled_from(PURPOSES),
       keys=KEYS)
def test_a_stream_is_a_function_of_seed_purpose_and_keys(seed, purpose, keys):
    first = generator(seed, purpose, *keys).integers(0, 2**62, 4)
    assert np.array_equal(first, generator(seed, purpose, *keys).integers(0, 2**62, 4))
    assert 0 <= integer_seed(seed, purpose, *keys) < 2**31


@given(seed=st.integers(min_value=0, max_value=2**32 - 1), keys=KEYS, other=KEYS,
       purposes=st.permutations(PURPOSES))
def test_streams_of_other_keys_or_purposes_differ(seed, keys, other, purposes):
    a, b = purposes[0], purposes[1]
    draw = lambda purpose, ks: tuple(generator(seed, purpose, *ks).integers(0, 2**62, 2))  # noqa: E731
    assert draw(a, keys) != draw(b, keys)
    if keys != other:
        assert draw(a, keys) != draw(a, other)
    assert draw(a, keys) != tuple(generator(seed + 1, a, *keys).integers(0, 2**62, 2))


def test_another_process_draws_the_same_numbers():
    code = ("import json; from paperlib.core.seeds import generator, integer_seed; "
            "print(json.dumps([integer_seed(42, 'weights', 3, 0, 1), "
            "generator(42, 'batch_order', -1, 2, 0, 7).permutation(20).tolist()]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    here = [integer_seed(42, "weights", 3, 0, 1), generator(42, "batch_order", -1, 2, 0, 7).permutation(20).tolist()]
    assert json.loads(done.stdout) == here


@pytest.mark.parametrize("purpose, keys, message", [
    ("nothing", (), "Unknown random stream"), ("weights", (-2,), "keys are integers"),
])
def test_bad_streams_are_refused(purpose, keys, message):
    with pytest.raises(ValueError, match=message):
        seed_sequence(1, purpose, *keys)
    with pytest.raises(ValueError, match="non-negative"):
        seed_sequence(-1, "weights")


def test_every_model_attempt_and_restart_starts_from_its_own_weights_seed():
    config = Config()
    empty = np.arange(0)
    specs = [ModelSpec(pooling, fold, attempt, empty, empty, empty, config.seed)
             for pooling in ("attention", "mean") for fold in (*range(6), FINAL) for attempt in (0, 1)]
    seeds = {(s.pooling, s.fold, s.attempt, r): s.init_seed(r) for s in specs for r in (0, 1, 2)}
    by_model = {(f, a, r): v for (p, f, a, r), v in seeds.items() if p == "attention"}
    assert len(set(by_model.values())) == len(by_model), "two models, attempts or restarts share a seed"
    assert all(seeds["mean", f, a, r] == v for (f, a, r), v in by_model.items()), "the ablation is paired"

"""The training recipe: learning rate per epoch, augmentation of training batches, the optimizer and
loss it compiles, early stopping on either monitor."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlib.core.config import Config
from paperlib.model.training_state import ModelState, early_stopping, epoch_batches
from paperlib.model.recipe import augmented_batch, learning_rate_at, soft_targets
from tests.factories import toy_clips


def test_the_constant_rate_is_the_papers_adam_rate_every_epoch():
    config = Config()
    assert {learning_rate_at(config, e) for e in range(config.epochs)} == {config.learning_rate}


def test_warm_up_rises_linearly_then_cosine_decays_to_zero_at_the_cap():
    config = Config(lr_schedule="cosine", lr_warmup_epochs=4, epochs=20, learning_rate=0.01)
    rates = [learning_rate_at(config, e) for e in range(30)]
    assert rates[:4] == pytest.approx([0.002, 0.004, 0.006, 0.008])
    assert rates[4] == pytest.approx(0.01) and max(rates) == pytest.approx(0.01)
    assert all(a >= b for a, b in zip(rates[4:], rates[5:])), "decays without rising again"
    assert rates[20] == pytest.approx(0.0, abs=1e-12) and rates[29] == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="0-based"):
        learning_rate_at(config, -1)


def _batch(rng, batch=6, tokens=3, mels=12, frames=9):
    return rng.random((batch, tokens, mels, frames), dtype=np.float32), rng.integers(0, 4, batch)


def test_without_augmentation_the_batch_is_the_batch():
    tokens, labels = _batch(np.random.default_rng(0))
    out, targets = augmented_batch(tokens, labels, 4, Config(), np.random.default_rng(1))
    assert out is tokens and targets is labels


@settings(max_examples=40, deadline=None)
@given(time_mask=st.integers(0, 12), freq_mask=st.integers(0, 15), mixup=st.sampled_from([0.0, 0.2, 1.0]),
       smoothing=st.sampled_from([0.0, 0.1]), seed=st.integers(0, 2**32 - 1))
def test_augmentation_keeps_shapes_range_and_is_a_function_of_its_stream(time_mask, freq_mask, mixup,
                                                                         smoothing, seed):
    config = Config(time_mask=time_mask, freq_mask=freq_mask, mixup=mixup, label_smoothing=smoothing)
    tokens, labels = _batch(np.random.default_rng(seed))
    before = tokens.copy()
    out, targets = augmented_batch(tokens, labels, 4, config, np.random.default_rng(seed))
    again, targets_again = augmented_batch(tokens, labels, 4, config, np.random.default_rng(seed))
    assert np.array_equal(tokens, before), "the caller's tokens are never changed"
    assert np.array_equal(out, again) and np.array_equal(targets, targets_again)
    assert out.shape == tokens.shape and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 1
    if soft_targets(config):
        assert targets.shape == (len(labels), 4) and np.allclose(targets.sum(1), 1)
        assert np.array_equal(targets.argmax(1), labels), "a clip stays the main part of its mix"
    else:
        assert np.array_equal(targets, labels)


def test_a_time_mask_replaces_a_stretch_of_each_token_by_the_tokens_mean():
    tokens, labels = _batch(np.random.default_rng(3), frames=40)
    out, _ = augmented_batch(tokens, labels, 4, Config(time_mask=10), np.random.default_rng(4))
    changed = (out != tokens).any(axis=2)  # (batch, tokens, frames): which frames were masked
    widths = changed.sum(-1)
    assert widths.max() <= 10 and widths.max() > 0
    for b, t in zip(*np.nonzero(widths)):
        frames = np.flatnonzero(changed[b, t])
        assert np.array_equal(frames, np.arange(frames[0], frames[-1] + 1)), "one contiguous mask"
        assert np.allclose(out[b, t][:, frames], tokens[b, t].mean())


def _state(scores, monitor):
    state = ModelState(weights=[], optimizer=[])
    config = Config(early_stopping_start=1, early_stopping_patience=2, early_stopping_monitor=monitor)
    for epoch, (loss, accuracy) in enumerate(scores, start=1):
        state.history.append({"val_loss": loss, "val_accuracy": accuracy})
        state.epochs_done = epoch
        early_stopping(state, [np.array(epoch)], config)
        if state.stopped:
            break
    return state


def test_early_stopping_goes_by_the_chosen_monitor():
    scores = [(2.0, 0.1), (1.0, 0.5), (0.9, 0.9), (0.8, 0.9), (0.7, 0.9), (0.6, 0.9)]
    by_loss, by_accuracy = _state(scores, "val_loss"), _state(scores, "val_accuracy")
    assert not by_loss.stopped and by_loss.best_epoch == 6
    # accuracy stops rising at epoch 3; its ties keep the lowest loss (epoch 5), then patience ends it
    assert by_accuracy.stopped and by_accuracy.best_epoch == 5 and by_accuracy.epochs_done == 5
    assert by_accuracy.best_score == 0.9 and by_accuracy.best_loss == 0.7 and by_loss.best_score == 0.6


def test_the_recipe_compiles_adamw_with_clipping_and_smoothed_categorical_loss():
    import keras

    from paperlib.model.network import build_model
    from paperlib.model.recipe import compile_for_training

    _, _, tiny = toy_clips()
    config = tiny.replace(weight_decay=1e-3, clip_norm=1.0, label_smoothing=0.1)
    model = build_model(config, n_classes=3)
    compile_for_training(model, config)
    assert isinstance(model.optimizer, keras.optimizers.AdamW) and model.optimizer.global_clipnorm == 1.0
    assert isinstance(model.loss, keras.losses.CategoricalCrossentropy)
    compile_for_training(model, tiny)
    assert type(model.optimizer) is keras.optimizers.Adam and model.loss == "sparse_categorical_crossentropy"


def test_the_recipe_table_says_what_the_configuration_does():
    from paperlib.model.recipe import recipe_table

    before = recipe_table(Config(batch_norm=False, early_stopping_monitor="val_loss"))["this run"]
    assert before["token CNN"] == "no normalisation" and before["augmentation"] == "none"
    assert before["optimizer"] == "Adam" and "constant" in before["learning rate"]
    assert "val_loss" in before["early stopping"]
    other = recipe_table(Config(lr_schedule="cosine", lr_warmup_epochs=3, weight_decay=1e-3, mixup=0.4))
    assert other.loc["token CNN", "this run"].startswith("batch normalisation")
    assert "cosine" in other.loc["learning rate", "this run"] and "AdamW" in other.loc["optimizer", "this run"]
    assert "mixup" in other.loc["augmentation", "this run"] and "accuracy" in other.loc["early stopping", "this run"]
    assert set(other["paper"]) == {"not given"}
    assert "one model at a time" in other.loc["trainer", "this run"]
    vector = recipe_table(Config(trainer="vector", attention_mix=0.25))["this run"]
    assert "one compiled step" in vector["trainer"] and "scaled by 0.25" in vector["attention scores"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 500), min_size=1, max_size=60, unique=True), st.integers(1, 32))
def test_every_batch_is_full_and_every_clip_weighs_once_per_epoch(clips, batch_size):
    """Fit sets smaller than a batch included: the filling goes round `order` again."""
    order = np.array(clips)
    batches = epoch_batches(order, batch_size)
    assert len(batches) == -(-len(order) // batch_size)
    assert all(len(ids) == len(w) == batch_size for ids, w in batches)
    weighted = np.concatenate([ids[w > 0] for ids, w in batches])
    assert sorted(weighted) == sorted(clips)
    assert set(np.concatenate([ids for ids, _ in batches])) == set(clips)

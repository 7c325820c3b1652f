"""The 'paper vs this run' rules of notebooks 01-04 (paperlib.claims) on hand-made numbers."""

import numpy as np
import pandas as pd
import pytest

from paperlib.analysis.confusion import confused_pairs
from paperlib.core.results import Claim
from paperlib.claims.confusion import beats, confusion_claims, pair_text
from paperlib.claims.data import data_claims
from paperlib.claims.model import model_claims
from paperlib.claims.training import six_fold_holds, training_claims
from paperlib.core.config import Config
from paperlib.data.genres import GENRES

SYNTHETIC = Config()
GTZAN = Config(dataset="gtzan", data_dir="/not/read")


def by_claim(claims: list[Claim]) -> dict[str, Claim]:
    assert all(isinstance(c, Claim) for c in claims)
    return {c.claim: c for c in claims}


# 01 data ------------------------------------------------------------------------------------------

def data(token_shape=(10, 217, 45), token_s=3.94, overlap_s=1.05, clips=120, config=SYNTHETIC):
    return by_claim(data_claims(token_shape, token_s, overlap_s, clips=clips, config=config))


def test_data_claims_hold_on_the_paper_geometry():
    claims = data()
    assert [c.holds for c in claims.values()] == [True, True, True, True, None]
    assert claims["tokens are 217 x 45"].this_run == "217 x 45"
    assert claims["a token is 4 seconds"].this_run == "3.94 s"
    assert claims["tokens overlap by about 1 second"].this_run == "1.05 s (mean)"
    assert claims["GTZAN: 1000 clips of 30 s in 10 genres"].this_run == "120 synthetic clips"


def test_data_claims_fail_on_another_geometry():
    assert data(token_shape=(10, 128, 45))["tokens are 217 x 45"].holds is False
    assert data(token_shape=(10, 217, 44))["tokens are 217 x 45"].this_run == "217 x 44"
    assert data(token_s=3.85)["a token is 4 seconds"].holds is False
    assert data(token_s=np.float64(4.05))["a token is 4 seconds"].holds is True
    assert data(overlap_s=1.3)["tokens overlap by about 1 second"].holds is False
    assert data(overlap_s=0.8)["tokens overlap by about 1 second"].holds is True
    eight = data(config=SYNTHETIC.replace(n_tokens=8))["10 tokens per piece"]
    assert eight.holds is False and eight.this_run == "8"


def test_clip_count_is_only_testable_on_gtzan():
    claim = "GTZAN: 1000 clips of 30 s in 10 genres"
    assert data(clips=1000, config=SYNTHETIC)[claim].holds is None
    assert data(clips=1000, config=GTZAN)[claim].holds is True
    short = data(clips=999, config=GTZAN)[claim]
    assert short.holds is False and short.this_run == "999 gtzan clips"


# 02 model -----------------------------------------------------------------------------------------

PAPER_LAYERS = {"InputLayer", "TimeDistributed", "MultiHeadAttention", "Dense"}


def model(layers=PAPER_LAYERS, config=SYNTHETIC, error=1e-7, parameters=11723):
    return by_claim(model_claims(layers, config, error, trainable_parameters=parameters))


def test_model_claims_hold_for_the_paper_architecture():
    claims = model()
    assert [c.holds for c in claims.values()] == [True, True, True, None]
    assert claims["multi-head attention over the token sequence"].this_run == "2 heads over 10 tokens"
    assert claims["attention weights are a softmax over the tokens"].this_run == "max |sum - 1| = 1.0e-07"
    assert claims["layer sizes"].this_run == "11723 trainable parameters"


def test_model_claims_fail_without_the_paper_parts():
    no_td = model(layers=PAPER_LAYERS - {"TimeDistributed"})["a CNN reads each token through TimeDistributed"]
    assert no_td.holds is False and no_td.this_run == "TimeDistributed: False"
    attention = "multi-head attention over the token sequence"
    assert model(layers=PAPER_LAYERS - {"MultiHeadAttention"})[attention].holds is False
    assert model(config=SYNTHETIC.replace(attention_heads=1))[attention].holds is False
    assert model(error=1e-4)["attention weights are a softmax over the tokens"].holds is False


# 03 training --------------------------------------------------------------------------------------

def training(folds=(0.5,) * 6, accuracy=0.6, chance=0.1, config=SYNTHETIC):
    return by_claim(training_claims(list(folds), accuracy, chance, config))


def test_training_claims_hold_for_a_six_fold_run_that_learns():
    claims = training()
    assert [c.holds for c in claims.values()] == [True, None, True]
    assert claims["6-fold cross-validation"].this_run == "6 fold(s), random split (profile default)"
    assert claims["overall accuracy"].this_run == "0.600 out of fold"
    assert not any("MFCC" in c.claim for c in claims.values())  # judged once, in 04 (McNemar)
    assert claims["every fold learns (this companion's check)"].this_run == "lowest fold 0.500 vs chance 0.100"


def test_six_fold_rule():
    assert training(folds=(0.5,) * 3)["6-fold cross-validation"].holds is False
    assert six_fold_holds(6, "artist") is True
    assert six_fold_holds(6, "fault-filtered") is False  # the published lists are never 6-fold
    filtered = training(folds=(0.5,), config=GTZAN.replace(split="fault-filtered"))["6-fold cross-validation"]
    assert filtered.holds is False and "fault-filtered split" in filtered.this_run


def test_training_claims_fail_when_a_fold_does_not_learn():
    learns = "every fold learns (this companion's check)"
    assert training(folds=(0.5, 0.5, 0.2))[learns].holds is False  # not above twice chance
    assert training(folds=(0.5, 0.5, 0.21))[learns].holds is True


# 04 confusion -------------------------------------------------------------------------------------

def counts_with(confusions: dict[tuple[str, str], int], right: int = 10) -> np.ndarray:
    """A confusion matrix with `right` correct clips per genre and the given (true, predicted) errors."""
    counts = np.eye(len(GENRES), dtype=int) * right
    for (true, predicted), n in confusions.items():
        counts[GENRES.index(true), GENRES.index(predicted)] = n
    return counts


def recall_scores(**recalls: float) -> pd.DataFrame:
    recall = [recalls.get(g, 0.5) for g in GENRES]
    return pd.DataFrame({"recall": recall, "f1": recall}, index=pd.Index(list(GENRES), name="genre"))


def comparison(attention=0.8, mean=(0.6, 0.01), mfcc=(0.6, 0.01)) -> pd.DataFrame:
    rows = {"attention": (attention, np.nan), "mean pooling": mean, "MFCC statistics": mfcc}
    return pd.DataFrame([{"classifier": k, "accuracy": a, "mcnemar_p": p} for k, (a, p) in rows.items()]
                        ).set_index("classifier")


PAPER_PAIRS = confused_pairs(counts_with({("blues", "country"): 5, ("country", "blues"): 1,
                                          ("hiphop", "reggae"): 4, ("disco", "pop"): 2}))
PAPER_RECALL = recall_scores(classical=1.0, jazz=0.9)


def test_pair_text_gives_rank_ties_and_share():
    assert pair_text(PAPER_PAIRS, "country", "blues") == "rank 1 of 45: 6 clips, 50% of errors"
    tied = confused_pairs(counts_with({("blues", "country"): 3, ("rock", "metal"): 3}))
    assert pair_text(tied, "blues", "country") == "rank 1 of 45 (tied with 1): 3 clips, 50% of errors"
    assert pair_text(PAPER_PAIRS, "rock", "metal") == "never confused: 0 clips, 0% of errors"


def test_beats_needs_higher_accuracy_and_a_significant_test():
    assert beats(comparison(), "mean pooling") == ("0.800 vs 0.600, McNemar p = 0.01", True)
    assert beats(comparison(mean=(0.6, 0.2)), "mean pooling")[1] is False
    assert beats(comparison(mean=(0.6, 0.05)), "mean pooling")[1] is False  # p must be below 0.05
    assert beats(comparison(attention=0.5, mean=(0.6, 0.01)), "mean pooling")[1] is False
    assert beats(comparison(mean=(np.nan, np.nan)), "mean pooling") == ("not run in this profile", None)


def test_confusion_claims_hold_when_the_paper_pattern_shows():
    claims = confusion_claims(PAPER_PAIRS, PAPER_RECALL, comparison())
    assert [c.claim for c in claims] == [
        "blues and country are confused", "hiphop and reggae are confused",
        "classical and jazz are among the 3 genres with the highest recall",
        "attention beats mean pooling (p < 0.05)", "attention beats MFCC statistics (p < 0.05)"]
    assert [c.holds for c in claims] == [True, True, True, True, True]
    assert claims[1].this_run == "rank 2 of 45: 4 clips, 33% of errors"
    assert claims[2].this_run == "recall classical 1.00 (rank 1), jazz 0.90 (rank 2)"
    assert claims[4].this_run == "0.800 vs 0.600, McNemar p = 0.01"


def test_confusion_claims_fail_when_it_does_not():
    other_pairs = confused_pairs(counts_with({("disco", "pop"): 9, ("rock", "metal"): 8, ("classical", "jazz"): 7,
                                              ("blues", "country"): 1}))
    low_jazz = recall_scores(classical=1.0, jazz=0.4, disco=0.9, rock=0.8)
    claims = by_claim(confusion_claims(other_pairs, low_jazz, comparison(mfcc=(0.9, 0.01))))
    assert claims["blues and country are confused"].holds is False  # rank 4 of 45
    assert claims["blues and country are confused"].this_run.startswith("rank 4 of 45")
    assert claims["hiphop and reggae are confused"].holds is False  # never confused
    assert claims["classical and jazz are among the 3 genres with the highest recall"].holds is False
    assert claims["attention beats MFCC statistics (p < 0.05)"].holds is False
    assert claims["attention beats mean pooling (p < 0.05)"].holds is True


def test_ablation_not_run_is_not_testable():
    claims = by_claim(confusion_claims(PAPER_PAIRS, PAPER_RECALL, comparison(mean=(np.nan, np.nan))))
    mean = claims["attention beats mean pooling (p < 0.05)"]
    assert mean.holds is None and mean.this_run == "not run in this profile"
    assert mean.verdict == "not testable here"


def test_recall_ties_at_the_cut_still_count():
    tied = recall_scores(classical=1.0, disco=0.9, rock=0.8, jazz=0.8)
    assert confusion_claims(PAPER_PAIRS, tied, comparison())[2].holds is True
    with pytest.raises(ValueError):
        pair_text(PAPER_PAIRS, "blues", "nope")


def test_the_clip_count_is_the_folders_with_the_clips_used_beside_it():
    config = Config(dataset="gtzan", data_dir="x", split="fault-filtered")
    claim = data_claims((10, 217, 45), 4.0, 1.0, clips=1000, config=config, usable=929)[-1]
    assert claim.this_run == "1000 gtzan clips, 929 used" and claim.holds is True

"""Is attention an explanation? Three accounts of how much each token matters to a clip's
out-of-fold model (its attention weights, occlusion, integrated gradients), compared on the planted
moment (recovery, synthetic data), with each other (Kendall's tau per clip) and by faithfulness:
deletion curves, the predicted genre's probability and the accuracy as the tokens an account calls
most important are replaced one by one with the clip's neutral token (Petsiuk et al. 2018)."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from paperlib.analysis.attention import recovery_hits
from paperlib.analysis.split_baselines import group_bootstrap
from paperlib.core.progress import Progress
from paperlib.core.run_folder import RunFolder
from paperlib.model.attribution import TokenAttribution
from paperlib.model.network import load_model

ACCOUNTS = ("attention", "occlusion", "gradients")
RANDOM = "random order"
GRADIENT_STEPS = 6  # integrated gradients: points of the midpoint rule (benchmarks/bench_explanations.py)
RANDOM_ORDERS = 20  # random token orders per clip, averaged into the random deletion curve


@dataclass(frozen=True)
class Accounts:
    """Rows of the analysed clips; each account's scores (clips, n_tokens); deletion curves of each
    account and of random orders: the probability of the genre predicted on the intact clip and
    whether the prediction is right (random: the share of orders), (clips, n_tokens + 1)."""

    rows: np.ndarray
    scores: dict[str, np.ndarray]
    predicted: np.ndarray
    deletion_prob: dict[str, np.ndarray]
    deletion_correct: dict[str, np.ndarray]

    def arrays(self) -> dict[str, np.ndarray]:
        """Flat arrays for the run folder (`explanations.npz`)."""
        out = {"rows": self.rows, "predicted": self.predicted}
        out.update({f"score_{k}": v for k, v in self.scores.items()})
        out.update({f"deletion_prob_{k}": v for k, v in self.deletion_prob.items()})
        out.update({f"deletion_correct_{k}": v for k, v in self.deletion_correct.items()})
        return out


def _named(arrays: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    """The arrays whose key starts with `prefix`, keyed by the rest of their key."""
    return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}


def ranking(scores: np.ndarray) -> np.ndarray:
    """Each clip's tokens, most important first (ties: the earlier token first)."""
    return np.argsort(-np.asarray(scores), axis=1, kind="stable")


def random_orders(clips: int, n_tokens: int, orders: int, seed: int | list[int]) -> np.ndarray:
    """(orders, clips, n_tokens): random permutations of the tokens, seeded."""
    rng = np.random.default_rng(seed)
    return np.argsort(rng.random((orders, clips, n_tokens)), axis=2)


def _deletion(account: TokenAttribution, order: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The predicted genre's probability and the prediction's correctness along the deletion curve
    of `order` (clips, n_tokens), or of several orders at once ((orders, clips, n_tokens): one
    model call; the results then have the orders first)."""
    probs = account.deletion(order)
    index = account.target.reshape((1,) * (probs.ndim - 3) + (-1, 1, 1))
    target = np.take_along_axis(probs, index, axis=-1)[..., 0]
    return target, probs.argmax(axis=-1) == labels[:, None]


def out_of_fold_accounts(run: RunFolder, tokens_of: Callable[[np.ndarray], np.ndarray],
                         oof: dict[str, np.ndarray], rows: np.ndarray, *,
                         gradient_steps: int | None = GRADIENT_STEPS,
                         deletion_orders: int | None = RANDOM_ORDERS, seed: int = 0,
                         pooling: str = "attention", progress: bool = True) -> Accounts:
    """The accounts of the clips `rows`, each from the fold model that did not see it. `oof`: the
    run's out-of-fold outputs (attention, fold, label); `tokens_of(rows)` gives the clips' tokens.
    gradient_steps / deletion_orders None: no gradients / no deletion curves (cheaper)."""
    rows = np.asarray(rows, dtype=int)
    folds = np.asarray(oof["fold"])[rows]
    if (folds < 0).any():
        raise ValueError(f"{int((folds < 0).sum())} of the rows were held out by no fold (no "
                         "out-of-fold model); select rows with paperlib.data.folds.held_out_rows.")
    parts: dict[str, list] = {}
    with Progress("explaining clips", total=len(rows), unit="clips", enabled=progress) as bar:
        for fold in np.unique(folds):
            _account_fold(run, tokens_of, oof, rows[folds == fold], int(fold), parts,
                          gradient_steps=gradient_steps, deletion_orders=deletion_orders, seed=seed,
                          pooling=pooling)
            bar.update(sum(map(len, parts["rows"])), text=f"fold model {int(fold) + 1} done")
    joined = {key: np.concatenate(values) for key, values in parts.items()}
    order = np.argsort(joined["rows"], kind="stable")
    joined = {key: value[order] for key, value in joined.items()}

    return Accounts(joined["rows"], _named(joined, "score_"), joined["predicted"], _named(joined, "prob_"),
                    {k: v.astype(float) for k, v in _named(joined, "correct_").items()})


def _account_fold(run: RunFolder, tokens_of: Callable[[np.ndarray], np.ndarray],
                  oof: dict[str, np.ndarray], chosen: np.ndarray, fold: int, parts: dict[str, list], *,
                  gradient_steps: int | None, deletion_orders: int | None, seed: int,
                  pooling: str) -> None:
    """Add the accounts of the clips `chosen`, all held out by `fold`, to `parts`."""
    tokens = tokens_of(chosen)
    account = TokenAttribution.of_model(
        load_model(run.path_of("model", pooling=pooling, fold=int(fold)), tokens_shape=tokens.shape[1:]),
        tokens)
    found = {"attention": np.asarray(oof["attention"])[chosen], "occlusion": account.occlusion()}
    if gradient_steps is not None:
        found["gradients"] = account.integrated_gradients(gradient_steps)
    pieces = {"rows": chosen, "predicted": account.target, **{f"score_{k}": v for k, v in found.items()}}
    if deletion_orders is not None:
        labels = np.asarray(oof["label"])[chosen]
        for name, scores in found.items():
            pieces[f"prob_{name}"], pieces[f"correct_{name}"] = _deletion(account, ranking(scores), labels)
        orders = random_orders(len(chosen), account.tokens.shape[1], deletion_orders, seed=[seed, int(fold)])
        prob, right = _deletion(account, orders, labels)
        pieces[f"prob_{RANDOM}"], pieces[f"correct_{RANDOM}"] = prob.mean(axis=0), right.mean(axis=0)
    for key, value in pieces.items():
        parts.setdefault(key, []).append(value)


def recovery_interval(scores: np.ndarray, motif_tokens: Sequence, correct: np.ndarray, *,
                      seed: int) -> dict[str, float]:
    """Top-1 recovery of the planted moment among correctly classified clips, with a 95% percentile
    bootstrap interval (clips resampled), and chance (covering tokens / n_tokens)."""
    hit, chance = recovery_hits(scores, motif_tokens)
    correct = np.asarray(correct, dtype=bool)
    hit, chance = hit[correct].astype(float), chance[correct]
    if not len(hit):
        return {"clips": 0, "recovery": float("nan"), "low": float("nan"), "high": float("nan"),
                "chance": float("nan")}
    low, high = group_bootstrap(hit, np.arange(len(hit)), seed=seed)
    return {"clips": int(len(hit)), "recovery": float(hit.mean()), "low": float(low),
            "high": float(high), "chance": float(chance.mean())}


def recovery_table(scores: dict[str, np.ndarray], motif_tokens: Sequence, correct: np.ndarray, *,
                   seed: int) -> pd.DataFrame:
    """recovery_interval of each account, one row each."""
    table = pd.DataFrame({name: recovery_interval(s, motif_tokens, correct, seed=seed)
                          for name, s in scores.items()}).T
    table.index.name = "account"
    return table


def kendall_per_clip(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Kendall's tau-b between two accounts, clip by clip (NaN where one account is constant)."""
    from scipy.stats import kendalltau

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"Expected two (clips, n_tokens) arrays of one shape, got {a.shape} and {b.shape}.")
    return np.array([kendalltau(x, y).statistic for x, y in zip(a, b)], dtype=float)


def agreement(scores: dict[str, np.ndarray]) -> pd.DataFrame:
    """Per-clip Kendall's tau of every pair of accounts (columns 'a vs b')."""
    return pd.DataFrame({f"{a} vs {b}": kendall_per_clip(scores[a], scores[b])
                         for a, b in combinations(scores, 2)})


def curve_areas(curves: np.ndarray) -> np.ndarray:
    """Area under each clip's deletion curve (clips, n_tokens + 1), the removed share on [0, 1]."""
    curves = np.asarray(curves, dtype=float)
    return np.trapezoid(curves, dx=1.0 / (curves.shape[1] - 1), axis=1)


def deletion_table(accounts: Accounts) -> pd.DataFrame:
    """One row per account (and random order): mean area of the probability curves and area of the
    accuracy curve (lower: the account found what the model uses sooner)."""
    rows = {name: {"probability_area": float(curve_areas(accounts.deletion_prob[name]).mean()),
                   "accuracy_area": float(curve_areas(accounts.deletion_correct[name].mean(axis=0)[None])[0])}
            for name in accounts.deletion_prob}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "order"
    return table


def accuracy_curves(accounts: Accounts) -> pd.DataFrame:
    """Accuracy after removing k tokens (rows k = 0 .. n_tokens), one column per order."""
    table = pd.DataFrame({name: c.mean(axis=0) for name, c in accounts.deletion_correct.items()})
    table.index.name = "tokens removed"
    return table


def paired_less(a: np.ndarray, b: np.ndarray) -> float:
    """One-sided Wilcoxon signed-rank p-value that the values `a` are lower than their pairs `b`
    (1.0 when every pair is equal)."""
    from scipy.stats import wilcoxon

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"Expected two paired 1-D arrays of one length, got {a.shape} and {b.shape}.")
    if np.allclose(a, b):
        return 1.0
    return float(wilcoxon(a, b, alternative="less").pvalue)

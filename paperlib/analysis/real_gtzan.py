"""Section 3's analyses on real GTZAN without its audio: the feature table's clip statistics under
three splits, their confusions, and the genre geometry of the mean standardised statistics per genre
(real GTZAN clip statistics, not the paper's model)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from paperlib.analysis import confusion
from paperlib.analysis.embeddings import (
    PaperGeometry,
    farthest_genres,
    fit_pca,
    genre_embeddings,
    nearest_genres,
    pairwise_distances,
    paper_geometry,
    standardized,
)
from paperlib.analysis.equations import EquationStudy, study_equations
from paperlib.analysis.split_baselines import (
    CLASSIFIERS,
    REPEATS,
    SplitPredictions,
    accuracy_table,
    drop,
    predict_splits,
    predictions_on_folds,
    split_folds,
)
from paperlib.core.config import Config
from paperlib.core.run_folder import RunFolder
from paperlib.data.feature_table import FeatureTable, RealGtzanData
from paperlib.data.gtzan_splits import artist_groups
from paperlib.model.cross_validation import load_oof

REFERENCE = "logistic regression"  # the classifier whose drop and confusions are reported


def _find(predictions: list[SplitPredictions], classifier: str, split: str) -> SplitPredictions:
    return next(p for p in predictions if (p.classifier, p.split) == (classifier, split))


@dataclass(frozen=True)
class ClipStatisticsSplits:
    """The classifiers under each split the metadata allows, their accuracies and the drop."""

    fold_seeds: list[int]
    predictions: list[SplitPredictions]
    accuracies: pd.DataFrame  # `split_baselines.accuracy_table`
    leakage: tuple[float, float, float] | None  # REFERENCE: random minus artist folds, interval
    groups: str  # what the bootstrap resamples: "artists" or "clips"

    def of(self, classifier: str, split: str) -> SplitPredictions:
        return _find(self.predictions, classifier, split)


def clip_statistics_splits(table: FeatureTable, data: RealGtzanData, config: Config) -> ClipStatisticsSplits:
    """Every classifier under random folds, and, with the metadata, artist-grouped folds and the
    fault-filtered lists; `config.folds` folds, REPEATS fold seeds from `config.seed`. Intervals
    resample artists (clips without the artist index)."""
    ids, labels = table.tracks["track_id"].tolist(), table.labels
    seeds = [config.seed + r for r in range(REPEATS)]
    options = dict(folds=config.folds, artists=data.artists, lists=data.filtered)
    fold_sets = {"random": [split_folds("random", ids, labels, seed=s, **options) for s in seeds]}
    if data.artists is not None:
        fold_sets["artist"] = [split_folds("artist", ids, labels, seed=s, **options) for s in seeds]
    if data.filtered is not None:  # one fixed split: one "seed"
        fold_sets["fault-filtered"] = [split_folds("fault-filtered", ids, labels, seed=0, **options)]
    predictions = predict_splits(table.statistics, labels, fold_sets)
    groups = artist_groups(ids, data.artists) if data.artists is not None else np.array(ids)
    leakage = (drop(_find(predictions, REFERENCE, "random"), _find(predictions, REFERENCE, "artist"),
                    labels, groups, seed=config.seed) if "artist" in fold_sets else None)
    return ClipStatisticsSplits(seeds, predictions,
                                accuracy_table(predictions, labels, groups, seed=config.seed), leakage,
                                "artists" if data.artists is not None else "clips")


@dataclass(frozen=True)
class GenreConfusion:
    """The confusions of REFERENCE under one split (its first fold seed)."""

    split: str
    counts: np.ndarray
    pairs: pd.DataFrame
    scores: pd.DataFrame


def genre_confusion(table: FeatureTable, splits: ClipStatisticsSplits) -> GenreConfusion:
    """REFERENCE's confusions on artist-grouped folds (no artist on both sides), else random folds."""
    split = "artist" if any(p.split == "artist" for p in splits.predictions) else "random"
    predicted = splits.of(REFERENCE, split).predicted[0]
    counts = confusion.confusion_counts(table.labels, predicted)
    return GenreConfusion(split, counts, confusion.confused_pairs(counts),
                          confusion.per_genre_scores(table.labels, predicted))


@dataclass(frozen=True)
class StatisticsGeometry:
    """Genre embeddings = the mean standardised statistics per genre, their PCA, distances (full
    space, 2D plane), section 3.2.1's observations, the equations and each genre's neighbours
    (in the equations' space, as notebook 06)."""

    clip_points: np.ndarray
    embeddings: np.ndarray
    pca2: object
    pca3: object
    distances: np.ndarray
    plane: np.ndarray
    geometry: PaperGeometry
    equations: EquationStudy
    near: np.ndarray
    far: np.ndarray


def statistics_geometry(table: FeatureTable, config: Config) -> StatisticsGeometry:
    clip_points = standardized(table.statistics)
    embeddings = genre_embeddings(clip_points, table.labels)
    pca2, pca3 = fit_pca(embeddings, components=2), fit_pca(embeddings, components=3)
    distances, plane = pairwise_distances(embeddings), pairwise_distances(pca2.transform(embeddings))
    equations = study_equations(embeddings, clip_points, table.labels,
                                threshold=config.equation_threshold, draws=config.null_draws,
                                seed=config.seed, space=config.equation_space,
                                components=config.equation_pca_components)
    neighbours = pairwise_distances(equations.points)
    return StatisticsGeometry(clip_points, embeddings, pca2, pca3, distances, plane,
                              paper_geometry(distances, plane), equations,
                              nearest_genres(neighbours, k=2), farthest_genres(neighbours, k=2))


def on_run_folds(table: FeatureTable, tracks: pd.DataFrame, clip_folds: np.ndarray,
                 model_probabilities: np.ndarray, *, model: str = "attention") -> pd.DataFrame:
    """The run's model beside the clip-statistics classifiers on the run's own folds (`tracks`:
    its track table, `clip_folds` and `model_probabilities`: its out-of-fold outputs), with
    McNemar tests against the model (`confusion.compare_classifiers`), held-out clips only."""
    index = pd.Series(np.arange(len(table.tracks)), index=table.tracks["track_id"])
    lacking = sorted(set(tracks["track_id"]) - set(index.index))
    if lacking:
        raise ValueError(f"{len(lacking)} clip(s) of the run are not in the feature table (e.g. "
                         f"{lacking[:3]}); expected GTZAN's clips with their names.")
    rows = index.loc[tracks["track_id"]].to_numpy()
    labels, clip_folds = tracks["label"].to_numpy(), np.asarray(clip_folds)
    held = clip_folds >= 0
    predictions = {model: np.asarray(model_probabilities).argmax(1)[held],
                   **predictions_on_folds(table.statistics[rows], labels, clip_folds, CLASSIFIERS)}
    return confusion.compare_classifiers(labels[held], predictions, reference=model)


def model_comparison(run: RunFolder, table: FeatureTable | None, config: Config) -> tuple[pd.DataFrame | None, str]:
    """`on_run_folds` for the run's attention model (notebook 03's out-of-fold outputs), or None
    and why: no real GTZAN audio in the run, no feature table, or no trained model yet."""
    if config.dataset != "gtzan":
        return None, (f"this run's dataset is {config.dataset}: no model trained on real GTZAN audio "
                      "(run the notebooks with dataset: gtzan)")
    if table is None:
        return None, "the feature table could not be had"
    if not run.has("oof", pooling="attention"):
        return None, "notebook 03 has not trained this run's model yet"
    oof = load_oof(run, "attention")
    return on_run_folds(table, run.load_table("tracks"), oof["fold"], oof["genre"]), ""

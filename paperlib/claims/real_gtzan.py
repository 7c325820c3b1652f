"""Notebook 10's verdicts: the paper's claims about real genres (sections 3.1-3.3) tested on real
GTZAN's feature table by the rules of notebooks 04-06 (each marked as real GTZAN clip statistics,
not the paper's model, and keyed like the claim it mirrors), the artist leakage of random folds, and
(dataset gtzan) the run's model beside clip statistics on its own folds."""

from __future__ import annotations


import pandas as pd

from paperlib.analysis.real_genres import TOP_K, PlacedClips, Reliability
from paperlib.analysis.real_gtzan import (
    REFERENCE,
    ClipStatisticsSplits,
    GenreConfusion,
    StatisticsGeometry,
)
from paperlib.analysis.split_baselines import CLASSIFIERS
from paperlib.claims.confusion import beats, genre_confusion_claims
from paperlib.claims.embeddings import pca_claims
from paperlib.claims.equations import equation_claims
from paperlib.core.config import Config
from paperlib.core.results import Claim, PlacedClip, RealGtzanResult
from paperlib.data.genres import GENRES

MARK = "real GTZAN clip statistics, not the paper's model"
LEAKAGE_KEY = "leakage:artist-folds"
# Accuracies on GTZAN published elsewhere (literature, not computed here), beside the measured ones.
PUBLISHED = (
    ("CNN trained from scratch", "fault-filtered", "54%"),
    ("VGGish embeddings + SVM", "fault-filtered", "77%"),
    ("Jukebox representations, linear probe", "fault-filtered", "79.7%"),
    ("MERT-330M", "fault-filtered", "79.3%"),
    ("MuQ", "fault-filtered", "85.6%"),
    ("many CNN and feature systems", "random folds", "85-94%"),
)


def leakage_holds(low: float) -> bool:
    """Random folds overstate accuracy: the whole interval of (random - artist folds) is above 0."""
    return bool(low > 0)


def _interval(row: pd.Series) -> str:
    return f"{row['accuracy']:.3f} [{row['low']:.3f}, {row['high']:.3f}]"


def leakage_claim(splits: ClipStatisticsSplits | None, reason: str = "") -> Claim:
    """Random vs artist-grouped folds for REFERENCE (None: not testable, for `reason`)."""
    text = ("random folds overstate accuracy on GTZAN: artist-grouped folds score lower "
            "(this companion's check)")
    paper = "6-fold cross-validation on random folds (3.1); 85-94% on random folds in the literature"
    if splits is None or splits.leakage is None:
        return Claim("3.1", text, paper, f"not testable: {reason}", None, key=LEAKAGE_KEY)
    rows = splits.accuracies.set_index(["classifier", "split"])
    value, low, high = splits.leakage
    return Claim("3.1", text, paper,
                 f"{REFERENCE} on clip statistics: random folds {_interval(rows.loc[(REFERENCE, 'random')])}, "
                 f"artist folds {_interval(rows.loc[(REFERENCE, 'artist')])}: {100 * value:.1f} points "
                 f"lower [{100 * low:.1f}, {100 * high:.1f}]", leakage_holds(low), key=LEAKAGE_KEY)


def marked(claims: list[Claim], source: str) -> list[Claim]:
    """Claims of notebooks 04-06 measured on the feature table: the claim marked with MARK, the
    measurement with its `source`; the key kept, so the claims page can pair them."""
    return [c.model_copy(update={"claim": f"{c.claim} ({MARK})", "this_run": f"{source}: {c.this_run}"})
            for c in claims]


def model_claim(comparison: pd.DataFrame | None, *, split: str, reason: str = "") -> Claim:
    """The run's model against each clip-statistics classifier on the run's folds (`comparison`:
    `analysis.real_gtzan.on_run_folds`); holds when it beats all of them (McNemar)."""
    text = "the attention model beats real GTZAN clip statistics on the same folds (this companion's check)"
    if comparison is None:
        return Claim("abstract", text, "enhances classification accuracy", f"not testable: {reason}", None)
    verdicts = {name: beats(comparison, name) for name in CLASSIFIERS}
    return Claim("abstract", text, "enhances classification accuracy",
                 f"{split} split; " + "; ".join(f"vs {name}: {said}" for name, (said, _) in verdicts.items()),
                 None if any(holds is None for _, holds in verdicts.values())
                 else all(holds for _, holds in verdicts.values()))


def real_claims(splits: ClipStatisticsSplits, confusion: GenreConfusion, geometry: StatisticsGeometry,
                config: Config) -> list[Claim]:
    """The leakage claim and notebooks 04-06's claims on the feature table, by their own rules."""
    g, eq = geometry.geometry, geometry.equations
    folds = {"artist": "artist folds", "random": "random folds"}[confusion.split]
    return [
        leakage_claim(splits),
        *marked(genre_confusion_claims(confusion.pairs, confusion.scores), f"{REFERENCE}, {folds}"),
        *marked(pca_claims(farthest_two=g.farthest_two, farthest_two_2d=g.farthest_two_2d,
                           disco_pop_rank=g.disco_pop_rank, pop_disco_rank=g.pop_disco_rank,
                           disco_pop_rank_2d=g.disco_pop_rank_2d), "mean standardised statistics"),
        *marked(equation_claims(paper_equations=eq.paper_equations, threshold=config.equation_threshold,
                                observed=eq.observed, null_random=eq.null_random,
                                null_permutation=eq.null_permutation, null_random_p=eq.null_random_p,
                                null_permutation_p=eq.null_permutation_p, near=geometry.near,
                                far=geometry.far),
                f"mean standardised statistics, {config.equation_space} space"),
    ]


MEASURED = ("clips", "statistics", "confusion_split", "per_genre_recall", "top_confused_pairs",
            "explained_variance_2d", "explained_variance_3d", "farthest_two", "nearest_genres",
            "farthest_genres", "paper_equations", "n_equations_under_threshold", "null_random_p",
            "null_permutation_p")
LEAKAGE = ("leakage_drop", "leakage_drop_low", "leakage_drop_high")


ARTIST_OUT = ("artist_out_top1", "artist_out_top3", "artist_out_artists")
PLACED = ("placed_clips", "placed_top1", "placed_top3", "placed_agreement")


def real_genre_values(artist_out: Reliability | None, artist_out_reason: str, placed: PlacedClips | None,
                      placed_reason: str) -> tuple[dict[str, object], dict[str, str]]:
    """The real-genre model's fields of the result (`paperlib similar`'s reliability and the
    placed clips) and the reasons of those that are None."""
    values: dict[str, object] = dict.fromkeys(ARTIST_OUT + PLACED)
    missing: dict[str, str] = {}
    if artist_out is None:
        missing.update(dict.fromkeys(ARTIST_OUT, artist_out_reason or "not measured"))
    else:
        values.update(artist_out_top1=artist_out.top1, artist_out_top3=artist_out.top3,
                      artist_out_artists=artist_out.artists)
    if placed is None:
        missing.update(dict.fromkeys(PLACED, placed_reason or "no clips with audio"))
    else:
        values.update(placed_clips=[PlacedClip(**row) for row in placed.tracks.to_dict("records")],
                      placed_top1=placed.top1, placed_top3=placed.top3)
        if placed.agreement is None:
            missing["placed_agreement"] = "none of the placed clips is a clip of the feature table"
        else:
            values["placed_agreement"] = float(placed.agreement["largest_difference_on_scale"].max())
    return values, missing


def real_gtzan_result(*, config: Config, problems: dict[str, str], splits: ClipStatisticsSplits | None = None,
                      confusion: GenreConfusion | None = None, geometry: StatisticsGeometry | None = None,
                      n_statistics: int | None = None, comparison: pd.DataFrame | None = None,
                      comparison_reason: str = "", artist_out: Reliability | None = None,
                      artist_out_reason: str = "", placed: PlacedClips | None = None,
                      placed_reason: str = "") -> RealGtzanResult:
    """Notebook 10's typed result: the measurements (all None, with `problems` as the reason,
    when the feature table could not be had) and the claims, with the model's comparison on the
    run's folds (None with `comparison_reason` without real GTZAN audio), and the real-genre
    model's leave-one-artist-out accuracy and placed clips (`real_genre_values`)."""
    reason = "; ".join(f"{what}: {why}" for what, why in problems.items())
    real_values, missing = real_genre_values(artist_out, artist_out_reason or reason, placed,
                                             placed_reason or reason)
    values: dict[str, object] = dict.fromkeys(MEASURED + LEAKAGE)
    if splits is None or confusion is None or geometry is None:
        missing.update(dict.fromkeys(MEASURED + LEAKAGE, reason))
        claims = [leakage_claim(None, reason), Claim(
            "3.1-3.3", f"the paper's claims about real genres ({MARK})",
            "notebooks 04-06's claims", f"not testable: {reason}", None)]
        baselines: list[dict] = []
    else:
        eq = geometry.equations
        values.update(
            clips=len(geometry.clip_points), statistics=n_statistics, confusion_split=confusion.split,
            per_genre_recall={g: float(v) for g, v in confusion.scores["recall"].items()},
            top_confused_pairs=[(a, b, int(n)) for a, b, n in confusion.pairs.head(5)[["a", "b", "count"]].to_numpy()],
            explained_variance_2d=geometry.pca2.explained_variance_ratio_.tolist(),
            explained_variance_3d=geometry.pca3.explained_variance_ratio_.tolist(),
            farthest_two=geometry.geometry.farthest_two,
            nearest_genres={g: [GENRES[j] for j in geometry.near[i]] for i, g in enumerate(GENRES)},
            farthest_genres={g: [GENRES[j] for j in geometry.far[i]] for i, g in enumerate(GENRES)},
            paper_equations=[{k: info[k] for k in ("equation", "stated_d_is_nearest", "nearest_d", "error", "rank")}
                             for info in eq.paper_equations],
            n_equations_under_threshold=eq.observed, null_random_p=eq.null_random_p,
            null_permutation_p=eq.null_permutation_p)
        if splits.leakage is None:
            missing.update(dict.fromkeys(LEAKAGE, reason))
        else:
            values.update(zip(LEAKAGE, splits.leakage))
        claims = real_claims(splits, confusion, geometry, config)
        baselines = [{"classifier": r["classifier"], "split": r["split"], "clips": int(r["clips"]),
                      "accuracy": r["accuracy"], "low": r["low"], "high": r["high"],
                      "by_fold_seed": [float(x) for x in r["fold seeds"]]}
                     for r in splits.accuracies.to_dict("records")]
    run_accuracy = None
    if comparison is None:
        missing["run_split_accuracy"] = comparison_reason
    else:
        run_accuracy = {name: float(v) for name, v in comparison["accuracy"].items()}
    claims.append(model_claim(comparison, split=config.split, reason=comparison_reason))
    return RealGtzanResult(
        **values, **real_values, fold_seeds=splits.fold_seeds if splits else [], baselines=baselines,
        run_split_accuracy=run_accuracy, claims=claims, missing=missing)


def references_table(accuracies: pd.DataFrame | None) -> pd.DataFrame:
    """The measured accuracies (`ClipStatisticsSplits.accuracies`; None: not measured) beside the
    literature's, labelled as such: not computed here."""
    rows = accuracies.to_dict("records") if accuracies is not None else []
    measured = [{"system": f"{r['classifier']} on librosa clip statistics", "split": r["split"],
                 "accuracy": f"{r['accuracy']:.1%} [{r['low']:.1%}, {r['high']:.1%}]",
                 "source": "measured here (real GTZAN feature table)"} for r in rows]
    published = [{"system": system, "split": split, "accuracy": accuracy,
                  "source": "literature (published figure, not computed here)"}
                 for system, split, accuracy in PUBLISHED]
    return pd.DataFrame(measured + published)


def closing_note(result: RealGtzanResult) -> str:
    """The notebook's last words, with its numbers (Markdown)."""
    if result.clips is None:
        return ("**Nothing was measured on real GTZAN in this run**: "
                + next(iter(result.missing.values()), "the feature table is missing") + ".")
    rows = {(b.classifier, b.split): b for b in result.baselines}
    scores = [f"{rows[(REFERENCE, 'random')].accuracy:.1%} on random folds"]
    if result.leakage_drop is not None:
        scores.append(f"{rows[(REFERENCE, 'artist')].accuracy:.1%} on artist-grouped folds "
                      f"({100 * result.leakage_drop:.1f} points lost to artist leakage, 95% interval "
                      f"{100 * result.leakage_drop_low:.1f} to {100 * result.leakage_drop_high:.1f})")
    if (REFERENCE, "fault-filtered") in rows:
        scores.append(f"{rows[(REFERENCE, 'fault-filtered')].accuracy:.1%} on the fault-filtered test list")
    paper = [c for c in result.claims if c.claim.endswith(f"({MARK})") and c.holds is not None
             and "this companion's check" not in c.claim]
    agree = [c.claim.removesuffix(f" ({MARK})") for c in paper if c.holds]
    differ = [c.claim.removesuffix(f" ({MARK})") for c in paper if not c.holds]
    return (f"On the {result.clips} real GTZAN clips, {REFERENCE} on {result.statistics} librosa clip "
            f"statistics scores {', '.join(scores[:-1]) + ' and ' if len(scores) > 1 else ''}{scores[-1]}. "
            f"Of the paper's claims about real genres that the table can test, {len(agree)} of "
            f"{len(paper)} hold on these statistics" + (f" ({'; '.join(agree)})" if agree else "")
            + (f"; these do not: {'; '.join(differ)}" if differ else "") + "." + real_genre_note(result))


def real_genre_note(result: RealGtzanResult) -> str:
    """The sentence on `paperlib similar`'s real-genre model ("" when it was not measured)."""
    if result.artist_out_top1 is None:
        return ""
    note = (f" As `paperlib similar` uses it, fitted without each clip's artist, it names the true genre "
            f"first for {result.artist_out_top1:.1%} of the clips and among its {TOP_K} most likely for "
            f"{result.artist_out_top3:.1%}")
    if result.placed_clips:
        note += (f"; on {len(result.placed_clips)} clips read from this run's audio, "
                 f"{result.placed_top1:.0%} and {result.placed_top3:.0%}")
    return note + "."


def paired_claim(real: RealGtzanResult | None, key: str) -> tuple[str, str]:
    """What the claims page shows of a keyed claim (notebooks 04-06) in its "real GTZAN statistics"
    column: (measured, verdict); ("", "") for a claim the feature table cannot test."""
    if not key or real is None:
        return "", ""
    match = next((c for c in real.claims if c.key == key), None)
    if match is not None:
        return match.this_run, match.verdict
    return f"not testable: {real.missing.get('clips', 'see notebook 10')}", "not testable here"

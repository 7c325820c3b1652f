"""Real genres for any audio without GTZAN's audio: notebook 10's logistic regression on standardised
clip statistics, fitted on Kaggle's GTZAN feature table, applied to the same statistics computed
from a file (`paperlib.data.clip_statistics`), with the nearest real GTZAN clips by standardised
statistics. How far to trust it is its leave-one-artist-out accuracy over the table (top-1, top-3):
each clip predicted by a model fitted without its artist, computed once and kept beside the table.
Notebook 10 also places clips with audio (a GTZAN run's) among the table's: statistics computed here,
compared with their rows, each clip predicted by a model fitted without it and its artist."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from paperlib.analysis.real_gtzan import REFERENCE
from paperlib.analysis.split_baselines import CLASSIFIERS
from paperlib.core.files import atomic_path
from paperlib.core.run_folder import RunFolder
from paperlib.data.audio import AudioError, read_audio
from paperlib.data.clip_statistics import (
    STATISTIC_COLUMNS,
    TABLE_SAMPLE_RATE,
    agreement,
    clip_statistics,
)
from paperlib.data.feature_table import FeatureTable, RealGtzanData, features_folder
from paperlib.data.genres import GENRES
from paperlib.data.gtzan_splits import UNKNOWN_ARTIST, artist_groups

TOP_K = 3  # the second reliability figure: the true genre among the 3 most likely
PLACED_PER_GENRE = 5  # clips of a GTZAN run that notebook 10 reads (about a second each)


def fitted(statistics: np.ndarray, labels: np.ndarray):
    """REFERENCE (CLASSIFIERS) fitted on one BLAS thread: on two busy cores OpenBLAS's threads make
    each fit 30 times slower, and these fits are small."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return CLASSIFIERS[REFERENCE]().fit(statistics, labels)


def artist_out_probabilities(statistics: np.ndarray, labels: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """(clips, genres) probabilities of each clip from REFERENCE fitted without its group (artist)."""
    from sklearn.model_selection import LeaveOneGroupOut, cross_val_predict
    from threadpoolctl import threadpool_limits

    statistics, labels, groups = np.asarray(statistics, float), np.asarray(labels), np.asarray(groups)
    if not len(statistics) == len(labels) == len(groups) or statistics.ndim != 2:
        raise ValueError(f"expected (clips, statistics), labels and groups of one length, got "
                         f"{statistics.shape}, {labels.shape} and {groups.shape}.")
    if len(set(groups.tolist())) < 2:
        raise ValueError("leaving one artist out needs at least two artists, got "
                         f"{len(set(groups.tolist()))}.")
    with threadpool_limits(limits=1):
        probabilities = cross_val_predict(CLASSIFIERS[REFERENCE](), statistics, labels, groups=groups,
                                          cv=LeaveOneGroupOut(), method="predict_proba")
    out = np.zeros((len(labels), len(GENRES)))
    out[:, np.unique(labels)] = probabilities  # a genre no clip has: probability 0
    return out


def top_k_accuracy(labels: np.ndarray, probabilities: np.ndarray, *, k: int) -> float:
    """How often the true genre is among the k most likely (sklearn's top_k_accuracy_score)."""
    from sklearn.metrics import top_k_accuracy_score

    return float(top_k_accuracy_score(labels, probabilities, k=k, labels=np.arange(probabilities.shape[1])))


@dataclass(frozen=True)
class Reliability:
    """REFERENCE's leave-one-artist-out accuracy over the feature table."""

    top1: float
    top3: float
    clips: int
    artists: int

    def describe(self) -> str:
        return (f"leaving each clip's artist out of the fit, it names the true genre first for "
                f"{self.top1:.1%} of the table's {self.clips} clips ({self.artists} artists), among its "
                f"{TOP_K} most likely for {self.top3:.1%}")

    def to_dict(self) -> dict:
        return {"method": "leave one artist out", "clips": self.clips, "artists": self.artists,
                "top1": round(self.top1, 4), f"top{TOP_K}": round(self.top3, 4)}


def _cache_key(table: FeatureTable, groups: np.ndarray) -> str:
    import sklearn

    digest = hashlib.sha256(np.ascontiguousarray(table.statistics, float).tobytes())
    digest.update(np.asarray(table.labels, np.int64).tobytes())
    digest.update("\n".join(map(str, groups)).encode())
    digest.update(f"{REFERENCE} {CLASSIFIERS[REFERENCE]()!r} sklearn {sklearn.__version__}".encode())
    return digest.hexdigest()[:16]


def artist_out_table(table: FeatureTable, artists: pd.DataFrame, *,
                     cache_folder: Path | None = None) -> np.ndarray:
    """`artist_out_probabilities` of the table's clips (Sturm's index for the artists), read from or
    written to `cache_folder` (keyed by the table, the artists and the classifier): one fit per
    artist the first time."""
    groups = artist_groups(table.tracks["track_id"].tolist(), artists)
    path = cache_folder / f"leave-one-artist-out-{_cache_key(table, groups)}.npy" if cache_folder else None
    if path is not None and path.is_file():
        try:
            stored = np.load(path, allow_pickle=False)
            if stored.shape == (len(table.tracks), len(GENRES)) and np.isfinite(stored).all():
                return stored
        except (OSError, ValueError):
            pass  # unreadable: computed again and rewritten
    probabilities = artist_out_probabilities(table.statistics, table.labels, groups)
    if path is not None:
        try:
            with atomic_path(path) as tmp, open(tmp, "wb") as handle:
                np.save(handle, probabilities, allow_pickle=False)
        except OSError:
            pass  # a read-only cache: computed again next time
    return probabilities


def reliability(table: FeatureTable, artists: pd.DataFrame, *, cache_folder: Path | None = None) -> Reliability:
    """REFERENCE's leave-one-artist-out top-1 and top-3 accuracy over the whole table."""
    probabilities = artist_out_table(table, artists, cache_folder=cache_folder)
    groups = artist_groups(table.tracks["track_id"].tolist(), artists)
    return Reliability(top_k_accuracy(table.labels, probabilities, k=1),
                       top_k_accuracy(table.labels, probabilities, k=TOP_K),
                       len(table.tracks), len(set(groups.tolist())))


def check_statistics(statistics: pd.DataFrame) -> np.ndarray:
    """(rows, 57) finite values in the table's column order, or ValueError saying what was given."""
    if not isinstance(statistics, pd.DataFrame) or list(statistics.columns) != list(STATISTIC_COLUMNS):
        given = list(statistics.columns)[:3] if isinstance(statistics, pd.DataFrame) else type(statistics).__name__
        raise ValueError(f"expected a table of the {len(STATISTIC_COLUMNS)} clip statistics "
                         f"(paperlib.data.clip_statistics.STATISTIC_COLUMNS), got {given}...")
    values = statistics.to_numpy(dtype=float)
    if len(values) == 0 or not np.isfinite(values).all():
        raise ValueError(f"expected at least one row of finite statistics, got {len(values)} row(s) "
                         "with non-finite values or none.")
    return values


def ranked(probabilities: np.ndarray) -> dict[str, float]:
    """Genre -> probability, most likely first."""
    return {GENRES[i]: float(probabilities[i]) for i in np.argsort(-probabilities, kind="stable")}


@dataclass(frozen=True)
class RealGenreAnswer:
    """REFERENCE's real-genre answer for one file: mean probabilities over its windows, each
    window's vote, and the nearest real GTZAN clips to the windows' mean standardised statistics."""

    probabilities: dict[str, float]  # every genre, most likely first
    votes: dict[str, int]
    nearest: pd.DataFrame  # rank, track_id, genre, artist ("" where the index names none), distance

    @property
    def predicted_genre(self) -> str:
        return next(iter(self.probabilities))

    def to_dict(self) -> dict:
        return {"predicted_genre": self.predicted_genre, "probabilities": self.probabilities,
                "votes": self.votes, "nearest": self.nearest.to_dict(orient="records")}


class RealGenreModel:
    """REFERENCE and a nearest-clip index fitted on the feature table (all its clips), with the
    reliability measured by leaving one artist out (None without Sturm's artist index)."""

    def __init__(self, table: FeatureTable, *, artists: pd.DataFrame | None = None, k: int = 5,
                 cache_folder: Path | None = None):
        from sklearn.neighbors import NearestNeighbors
        from sklearn.preprocessing import StandardScaler

        if list(table.columns) != list(STATISTIC_COLUMNS):
            raise ValueError(f"the feature table's columns {table.columns[:3]}... are not the "
                             f"{len(STATISTIC_COLUMNS)} statistics computed here; expected Kaggle's "
                             "features_30_sec.csv.")
        if not 1 <= k <= len(table.tracks):
            raise ValueError(f"k={k} is invalid: expected 1 <= k <= {len(table.tracks)} (the table's clips).")
        self.table, self.k = table, k
        self.classifier = fitted(table.statistics, table.labels)
        self.scaler = StandardScaler().fit(table.statistics)
        self.index = NearestNeighbors(n_neighbors=k).fit(self.scaler.transform(table.statistics))
        lookup = {} if artists is None else dict(zip(artists["track_id"], artists["artist"]))
        self.artists = np.array([a if not str(a).startswith(UNKNOWN_ARTIST) else ""
                                 for a in (lookup.get(t, "") for t in table.tracks["track_id"])])
        self.reliability = (reliability(table, artists, cache_folder=cache_folder)
                            if artists is not None else None)

    @classmethod
    def from_data(cls, data: RealGtzanData, *, k: int = 5, cache_folder: Path | None = None) -> RealGenreModel:
        if data.table is None:
            raise ValueError(f"no feature table: {'; '.join(data.problems.values())}")
        return cls(data.table, artists=data.artists, k=k, cache_folder=cache_folder)

    def probabilities(self, statistics: pd.DataFrame) -> np.ndarray:
        """(rows, genres): each row of statistics (`STATISTIC_COLUMNS`) classified."""
        out = np.zeros((len(statistics), len(GENRES)))
        out[:, self.classifier.classes_] = self.classifier.predict_proba(check_statistics(statistics))
        return out

    def answer(self, statistics: pd.DataFrame) -> RealGenreAnswer:
        """One file's answer from the statistics of its windows (one row each)."""
        windows = self.probabilities(statistics)
        votes = Counter(GENRES[int(i)] for i in windows.argmax(axis=1))
        centre = self.scaler.transform(check_statistics(statistics)).mean(axis=0, keepdims=True)
        distances, indices = self.index.kneighbors(centre)
        rows = indices[0]
        nearest = pd.DataFrame({"rank": np.arange(1, self.k + 1),
                                "track_id": self.table.tracks["track_id"].to_numpy()[rows],
                                "genre": self.table.tracks["genre"].to_numpy()[rows],
                                "artist": self.artists[rows], "distance": distances[0]})
        return RealGenreAnswer(ranked(windows.mean(axis=0)), dict(votes.most_common()), nearest)


def artist_out_check(data: RealGtzanData) -> tuple[Reliability | None, str]:
    """`reliability` of the fetched table (cached in `features_folder()`), or None and why."""
    if data.table is None:
        return None, "; ".join(data.problems.values()) or "the feature table could not be had"
    if data.artists is None:
        return None, "no artist index: " + ("; ".join(data.problems.values()) or "not fetched")
    return reliability(data.table, data.artists, cache_folder=features_folder()), ""


def run_audio_clips(run: RunFolder, *, per_genre: int = PLACED_PER_GENRE) -> tuple[pd.DataFrame | None, str]:
    """The first `per_genre` clips of each genre of a GTZAN run (track_id, genre, path to the
    audio), or None and why (a synthetic run, no track table yet, no audio files)."""
    if run.config.dataset != "gtzan":
        return None, (f"this run's dataset is {run.config.dataset}: it has no real GTZAN audio "
                      "(run the notebooks with dataset: gtzan to place its clips)")
    if not run.has("tracks"):
        return None, "notebook 01 has not listed this run's clips yet"
    tracks = run.load_table("tracks").sort_values("track_id")
    chosen = tracks.groupby("genre", sort=False).head(per_genre)
    files = [run.dataset_root() / p for p in chosen["path"]]
    found = chosen.assign(path=files)[[f.is_file() for f in files]]
    if found.empty:
        return None, f"none of the run's audio files is in {run.dataset_root()}"
    return found[["track_id", "genre", "path"]].reset_index(drop=True), ""


def standardized_like(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """`values` as z-scores by the columns of `reference` (as `embeddings.standardized` makes the
    table's): new clips in the table's standardised space."""
    spread = reference.std(axis=0)
    return (np.asarray(values, float) - reference.mean(axis=0)) / np.where(spread > 0, spread, 1.0)


@dataclass(frozen=True)
class PlacedClips:
    """Clips with audio among the table's: their statistics computed here (index track_id), each
    predicted by REFERENCE fitted on the table without it and without its artist, and for clips in
    the table the agreement of their statistics with its rows (`clip_statistics.agreement`)."""

    tracks: pd.DataFrame  # track_id, genre, artist, predicted, true_rank, top3, in_table
    statistics: pd.DataFrame
    probabilities: np.ndarray  # (clips, genres)
    agreement: pd.DataFrame | None
    skipped: dict[str, str]  # track_id -> why it could not be read

    @property
    def top1(self) -> float:
        return float(np.mean(self.tracks["true_rank"] == 1))

    @property
    def top3(self) -> float:
        return float(np.mean(self.tracks["true_rank"] <= TOP_K))


def place_clips(table: FeatureTable, artists: pd.DataFrame, clips: pd.DataFrame) -> PlacedClips:
    """`clips` (track_id, genre, path) read at the table's rate and described by `clip_statistics`
    (the whole file, as the table has its clips), then each predicted by REFERENCE fitted on the
    table's rows of other artists (a clip the index does not know: of other clips)."""
    rows, skipped = [], {}
    for clip in clips.itertuples(index=False):
        try:
            audio, _ = read_audio(clip.path, sample_rate=TABLE_SAMPLE_RATE)
            rows.append(clip_statistics(audio, sample_rate=TABLE_SAMPLE_RATE).rename(clip.track_id))
        except (AudioError, ValueError) as exc:
            skipped[clip.track_id] = str(exc)
    if not rows:
        raise ValueError(f"none of the {len(clips)} clips could be read: {skipped}")
    statistics = pd.DataFrame(rows)
    read = clips.set_index("track_id").loc[statistics.index].reset_index()
    ids = table.tracks["track_id"].to_numpy()
    table_groups = artist_groups(list(ids), artists)
    lookup = dict(zip(ids, table_groups))
    known = dict(zip(artists["track_id"], artists["artist"]))
    groups = [lookup.get(t) for t in read["track_id"]]
    probabilities = np.zeros((len(read), len(GENRES)))
    for group in dict.fromkeys(groups):  # one fit per artist left out
        mine = np.array([g == group for g in groups])
        keep = (table_groups != group) if group is not None else ~np.isin(ids, read["track_id"][mine])
        model = fitted(table.statistics[keep], table.labels[keep])
        probabilities[np.ix_(mine, model.classes_)] = model.predict_proba(statistics.to_numpy()[mine])
    order = np.argsort(-probabilities, axis=1, kind="stable")
    labels = read["genre"].map(GENRES.index).to_numpy()
    in_table = read["track_id"].isin(ids).to_numpy()
    tracks = pd.DataFrame({
        "track_id": read["track_id"], "genre": read["genre"],
        "artist": [a if not str(a).startswith(UNKNOWN_ARTIST) else "" for a in
                   (known.get(t, "") for t in read["track_id"])],
        "predicted": [GENRES[o[0]] for o in order],
        "true_rank": [int(np.flatnonzero(o == y)[0]) + 1 for o, y in zip(order, labels)],
        "top3": [[GENRES[j] for j in o[:TOP_K]] for o in order], "in_table": in_table})
    found = None
    if in_table.any():
        inside = statistics[in_table]
        table_rows = pd.DataFrame(table.statistics, index=ids, columns=table.columns).loc[inside.index]
        found = agreement(inside, table_rows[list(STATISTIC_COLUMNS)])
    return PlacedClips(tracks, statistics, probabilities, found, skipped)


def placed_check(data: RealGtzanData, run: RunFolder) -> tuple[PlacedClips | None, str]:
    """`place_clips` for a GTZAN run's clips (`run_audio_clips`), or None and why."""
    if data.table is None or data.artists is None:
        return None, "the feature table or the artist index could not be had"
    clips, why = run_audio_clips(run)
    if clips is None:
        return None, why
    return place_clips(data.table, data.artists, clips), ""

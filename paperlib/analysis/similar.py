"""`paperlib similar`: the pieces of a run nearest to any audio file, by the final model's signature.

The file is read like every clip of the pipeline (`paperlib.data.audio`): any format librosa reads, any
sample rate, stereo mixed to mono, resampled to the run's rate. The one length rule: a file longer
than the run's clip length (30 s) keeps its centred 30 s; a shorter one (at least 4 s, one token)
is padded with silence at the end. With `whole`, every consecutive 30 s window of the file is
analysed instead (the last one kept from 4 s on, padded): the windows vote, their probabilities and
signatures are averaged, and the moment is the highest-attention token of all. The reported moment
is in the original file's timeline, cut at the file's end.

Beside the run's answer, a real-genre answer needs no GTZAN audio (`paperlib.analysis.real_genres`):
the feature table's 57 librosa statistics of the same part of the file (30 s windows at 22050 Hz,
the last or only one unpadded), classified by notebook 10's logistic regression fitted on real
GTZAN's 1000 clips, with the nearest real clips by standardised statistics.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from paperlib.analysis.real_genres import RealGenreAnswer, RealGenreModel
from paperlib.analysis.recommendations import nearest, top_attention_window
from paperlib.core.registry import FINAL
from paperlib.core.run_folder import RunFolder, RunFolderError, open_existing_run
from paperlib.data.audio import fit_to_clip, read_audio
from paperlib.data.clip_statistics import (
    TABLE_CLIP_SECONDS,
    TABLE_SAMPLE_RATE,
    clip_statistics,
)
from paperlib.data.download import FEATURES_FILE
from paperlib.data.feature_table import features_folder, real_gtzan_data
from paperlib.data.features import cut_tokens, log_mel_db, token_seconds
from paperlib.data.genres import GENRES
from paperlib.data.spectrogram_images import image_like_source
from paperlib.model.cross_validation import load_final
from paperlib.model.network import explain, load_model

AUDIO_SUFFIXES = (".wav", ".au", ".snd", ".aif", ".aiff", ".flac", ".ogg", ".oga", ".opus", ".mp3",
                  ".m4a")
SYNTHETIC_NOTICE = ("Note: this run was trained on the synthetic genres, not on real music; its "
                    "predicted genre says nothing about a real song. For real genres train on GTZAN "
                    "(make reproduce PROFILE=paper DATA_DIR=/path/to/gtzan) and pass that run.")
REAL_MODEL = ("notebook 10's logistic regression on 57 librosa clip statistics, fitted on real GTZAN's "
              "1000 clips of Kaggle's feature table")


@dataclass(frozen=True)
class SimilarResult:
    """One file against a run: its genre probabilities, nearest pieces and highest-attention moment
    (of the centred clip, or with `whole` of every consecutive clip of the track)."""

    path: Path
    neighbours: pd.DataFrame  # rank, track_id, genre, distance (cosine), nearest first
    probabilities: dict[str, float]  # every genre (mean over the windows), most likely first
    moment: tuple[float, float]  # (start_s, end_s) of the highest-attention token, in the file
    file_seconds: float
    windows: list[tuple[float, float]]  # (start_s, end_s) of each analysed part of the file
    votes: dict[str, int]  # the predicted genre of each window, counted
    clip_seconds: float  # the run's clip length
    real: RealGenreAnswer | None = None  # the real-genre answer (None: no feature table)
    real_windows: list[tuple[float, float]] | None = None  # (start_s, end_s) of its windows
    reliability: str = ""  # how far to trust the real-genre answer, in a line

    @property
    def predicted_genre(self) -> str:
        return next(iter(self.probabilities))

    @property
    def probability(self) -> float:
        return self.probabilities[self.predicted_genre]

    @property
    def offset_s(self) -> float:
        """Where the (first) analysed clip starts in the file."""
        return self.windows[0][0]

    def to_dict(self) -> dict:
        """The result as JSON-ready data (`paperlib similar --json`)."""
        return {"file": str(self.path), "file_seconds": round(self.file_seconds, 3),
                "windows": [[round(a, 3), round(b, 3)] for a, b in self.windows],
                "predicted_genre": self.predicted_genre, "probabilities": self.probabilities,
                "votes": self.votes,
                "highest_attention_moment": [round(self.moment[0], 3), round(self.moment[1], 3)],
                "nearest": self.neighbours.to_dict(orient="records"),
                "real_genres": None if self.real is None else {
                    **self.real.to_dict(),
                    "windows": [[round(a, 3), round(b, 3)] for a, b in self.real_windows or []]}}

    def report(self) -> str:
        """A readable summary for the command line."""
        table = self.neighbours.to_string(index=False, float_format=lambda v: f"{v:.4f}")
        start, end = self.moment
        if len(self.windows) > 1:
            analysed = f"whole track in {len(self.windows)} windows of {self.clip_seconds:g} s"
            vote = ", ".join(f"{g} {n}" for g, n in self.votes.items())
            genre = f"vote of the windows: {vote}; mean probabilities:"
        else:
            a, b = self.windows[0]
            analysed = f"{a:.1f}-{b:.1f} s"
            if self.file_seconds < self.clip_seconds:
                analysed += f", padded with silence to {self.clip_seconds:g} s"
            genre = "genre probabilities:"
        probabilities = "  ".join(f"{g} {p:.2f}" for g, p in self.probabilities.items())
        return "\n".join([
            f"{self.path} ({self.file_seconds:.1f} s; analysed {analysed})",
            f"predicted genre: {self.predicted_genre} (probability {self.probability:.2f})",
            f"{genre} {probabilities}",
            f"highest-attention moment: {start:.1f}-{end:.1f} s",
            f"nearest {len(self.neighbours)} pieces by signature (cosine distance):",
            table,
            *self.real_report(),
        ])

    def real_report(self) -> list[str]:
        """The real-genre answer's lines (none without it)."""
        if self.real is None:
            return []
        answer = self.real
        probabilities = "  ".join(f"{g} {p:.2f}" for g, p in answer.probabilities.items())
        windows = len(self.real_windows or [])
        vote = ("; vote of the windows: " + ", ".join(f"{g} {n}" for g, n in answer.votes.items())
                if windows > 1 else "")
        table = answer.nearest.to_string(index=False, float_format=lambda v: f"{v:.3f}")
        return [
            "",
            f"real genres, not from this run's model ({REAL_MODEL}):",
            f"reliability: {self.reliability or 'not measured (no artist index)'}",
            f"predicted genre: {answer.predicted_genre} (probability "
            f"{answer.probabilities[answer.predicted_genre]:.2f}{vote})",
            f"genre probabilities{' (mean of the windows)' if windows > 1 else ''}: {probabilities}",
            f"nearest {len(answer.nearest)} real GTZAN clips by standardised clip statistics "
            "(euclidean distance):",
            table,
        ]


def final_model_path(run: RunFolder) -> Path:
    """The final (all-clip) attention model of a run, or a clear error naming notebook 03."""
    path = run.path_of("model", pooling="attention", fold=FINAL)
    if not path.is_file():
        raise RunFolderError(
            f"Run folder {run.path} has no trained final model ({path.relative_to(run.path)}): "
            "run notebook 03_cv_training first.")
    return path


def audio_files(paths: list[str | Path]) -> tuple[list[Path], dict[str, str]]:
    """The files given, a folder standing for the audio files in it (recursively, by suffix); and
    what was given but cannot be answered (a missing file, a folder without audio), with why."""
    found: list[Path] = []
    skipped: dict[str, str] = {}
    for given in paths:
        path = Path(given).expanduser()
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
            found += inside
            if not inside:
                skipped[str(path)] = (f"{path} is a folder without audio files "
                                      f"({', '.join(AUDIO_SUFFIXES)}).")
        elif path.is_file():
            found.append(path)
        else:
            skipped[str(path)] = f"Audio file {path} does not exist."
    return found, skipped


def spans_of(n_samples: int, *, clip: int, shortest: int, whole: bool) -> list[tuple[int, int]]:
    """(start, end) in samples: with `whole`, consecutive `clip`-long windows, the last one kept
    when it lasts at least `shortest`; else the centred `clip` (a shorter file: all of it)."""
    if not whole or n_samples <= clip:
        offset = max(0, (n_samples - clip) // 2)
        return [(offset, min(offset + clip, n_samples))]
    starts = range(0, max(n_samples, 1), clip)
    return [(a, min(a + clip, n_samples)) for a in starts if a == 0 or n_samples - a >= shortest]


def windows_of(n_samples: int, config) -> list[tuple[int, int]]:
    """Consecutive clip-long windows (start, end) in samples: the last one kept when it lasts at
    least `min_clip_seconds` (it is padded), a file shorter than a clip is one window."""
    return spans_of(n_samples, clip=config.clip_samples, whole=True,
                    shortest=int(config.min_clip_seconds * config.sample_rate))


def real_genre_model(*, features_url: str | None = None, metadata_url: str | None = None,
                     k: int = 5) -> tuple[RealGenreModel | None, str]:
    """The real-genre model from the feature table and Sturm's artist index (the project cache,
    else fetched from the mirrors given or the pinned origins), and what is missing, with the fix
    ("" when nothing is): without the table no model, without the index no reliability."""
    from paperlib.core.config import Config

    data = real_gtzan_data(Config(features_url=features_url, metadata_url=metadata_url))
    reasons = "; ".join(why.split(" To fix: ")[0] for why in data.problems.values())
    if data.table is None:
        return None, (f"Real genres not answered: Kaggle's GTZAN feature table is missing ({reasons}). "
                      f"Fetch it once with `paperlib fetch features --dest DIR` where its origins are "
                      f"reachable (or from a mirror with --base-url) and pass `--features-url "
                      f"file:///absolute/DIR`, or put {FEATURES_FILE} into {features_folder()}.")
    missing = "" if not data.problems else (
        f"Real genres without artists and reliability: GTZAN's artist index is missing ({reasons}). "
        "Fetch it with `paperlib fetch metadata --dest DIR` and pass `--metadata-url file:///absolute/DIR`.")
    return RealGenreModel.from_data(data, k=k, cache_folder=features_folder()), missing


class Similarity:
    """A run's final model and signatures, loaded once for any number of files."""

    def __init__(self, run: RunFolder | str | Path, *, k: int = 5, real: RealGenreModel | None = None):
        self.real = real  # the real-genre model (`real_genre_model`), or None: the run's answer only
        self.run = run if isinstance(run, RunFolder) else open_existing_run(run)
        self.config = self.run.config
        self.model = load_model(final_model_path(self.run), tokens_shape=(
            self.config.n_tokens, self.config.n_mels, self.config.token_frames))
        self.database = load_final(self.run, "attention")["signature"]
        self.tracks = self.run.load_table("tracks")
        if len(self.tracks) != len(self.database):
            raise RunFolderError(
                f"Run folder {self.run.path}: the track table lists {len(self.tracks)} clips but the "
                f"final signatures hold {len(self.database)}; run notebook 03_cv_training again.")
        if not 1 <= k <= len(self.database):
            raise ValueError(f"k={k} is invalid: expected 1 <= k <= {len(self.database)} (the run's pieces).")
        self.k = k

    @property
    def synthetic(self) -> bool:
        return self.config.dataset == "synthetic"

    def analyse(self, path: str | Path, *, whole: bool = False) -> SimilarResult:
        """One file: its centred clip, or with `whole` every consecutive clip of it."""
        config = self.config
        path = Path(path).expanduser()
        if path.is_dir():
            raise ValueError(f"{path} is a folder; give one audio file (for example a .wav or .mp3).")
        audio, _ = read_audio(path, sample_rate=config.sample_rate)
        rate, file_seconds = config.sample_rate, len(audio) / config.sample_rate
        spans = spans_of(len(audio), clip=config.clip_samples, whole=whole,
                         shortest=int(config.min_clip_seconds * rate))
        clips = np.stack([fit_to_clip(audio[a:b], sample_rate=rate, clip_seconds=config.clip_seconds,
                                      min_clip_seconds=config.min_clip_seconds, name=str(path))
                          for a, b in spans])
        images = np.stack([image_like_source(log_mel_db(c, config), config) for c in clips])
        outputs = explain(self.model, cut_tokens(images, config))
        mean_signature = outputs["signature"].mean(axis=0, keepdims=True)
        indices, distances = nearest(mean_signature, self.database, self.k)
        neighbours = pd.DataFrame({
            "rank": np.arange(1, self.k + 1),
            "track_id": self.tracks["track_id"].to_numpy()[indices[0]],
            "genre": self.tracks["genre"].to_numpy()[indices[0]],
            "distance": distances[0],
        })
        mean = outputs["genre"].mean(axis=0)
        probabilities = {GENRES[i]: float(mean[i]) for i in np.argsort(-mean, kind="stable")}
        votes = Counter(GENRES[int(i)] for i in outputs["genre"].argmax(axis=1))
        tokens = token_seconds(config)
        attention = np.where(  # a token that starts in a window's silent padding never counts
            tokens[None, :, 0] < np.array([(b - a) / rate for a, b in spans])[:, None],
            outputs["attention"], -np.inf)
        window = int(np.argmax(attention.max(axis=1)))
        start, end = top_attention_window(attention[window], tokens)
        offset = spans[window][0] / rate
        moment = (float(min(start + offset, file_seconds)), float(min(end + offset, file_seconds)))
        real, real_windows = self.real_answer(path, audio, whole=whole) if self.real else (None, None)
        reliability = self.real.reliability.describe() if self.real and self.real.reliability else ""
        return SimilarResult(path, neighbours, probabilities, moment, float(file_seconds),
                             [(a / rate, b / rate) for a, b in spans], dict(votes.most_common()),
                             float(config.clip_seconds), real, real_windows, reliability)

    def real_answer(self, path: Path, audio: np.ndarray, *,
                    whole: bool) -> tuple[RealGenreAnswer, list[tuple[float, float]]]:
        """The real-genre answer: clip statistics of the centred 30 s (or every 30 s window) at
        the table's rate, unpadded, and the windows in seconds."""
        if self.config.sample_rate != TABLE_SAMPLE_RATE:
            audio, _ = read_audio(path, sample_rate=TABLE_SAMPLE_RATE)
        rate = TABLE_SAMPLE_RATE
        spans = spans_of(len(audio), clip=int(TABLE_CLIP_SECONDS * rate), whole=whole,
                         shortest=int(self.config.min_clip_seconds * rate))
        statistics = pd.DataFrame([clip_statistics(audio[a:b], sample_rate=rate) for a, b in spans])
        return self.real.answer(statistics), [(a / rate, b / rate) for a, b in spans]

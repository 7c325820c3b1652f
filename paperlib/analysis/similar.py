"""`paperlib similar`: the pieces of a run nearest to any audio file, by the final model's signature.

The file is read like every clip of the pipeline (`paperlib.data.audio`): any format librosa reads, any
sample rate, stereo mixed to mono, resampled to the run's rate. The one length rule: a file longer
than the run's clip length (30 s) keeps its centred 30 s; a shorter one (at least 4 s, one token)
is padded with silence at the end. The reported moment is in the original file's timeline: the
centring offset is added back and the moment is cut at the file's end.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from paperlib.analysis.recommendations import nearest, top_attention_window
from paperlib.core.registry import FINAL
from paperlib.core.run_folder import RunFolder, RunFolderError, open_existing_run
from paperlib.data.audio import fit_to_clip, read_audio
from paperlib.data.features import cut_tokens, log_mel_db, token_seconds
from paperlib.data.genres import GENRES
from paperlib.data.spectrogram_images import image_like_source
from paperlib.model.cross_validation import load_final
from paperlib.model.network import explain, load_model


@dataclass(frozen=True)
class SimilarResult:
    """The nearest pieces of one file, its predicted genre and its highest-attention moment."""

    path: Path
    neighbours: pd.DataFrame  # rank, track_id, genre, distance (cosine), nearest first
    predicted_genre: str
    probability: float
    moment: tuple[float, float]  # (start_s, end_s) of the highest-attention token, in the file
    file_seconds: float
    offset_s: float  # where the analysed clip starts in the file (0 unless the file is longer)
    clip_seconds: float  # the run's clip length: how much of the file is analysed

    def report(self) -> str:
        """A readable summary for the command line."""
        table = self.neighbours.to_string(index=False, float_format=lambda v: f"{v:.4f}")
        start, end = self.moment
        analysed_end = self.offset_s + min(self.file_seconds, self.clip_seconds)
        analysed = f"{self.offset_s:.1f}-{analysed_end:.1f} s"
        if self.file_seconds < self.clip_seconds:
            analysed += f", padded with silence to {self.clip_seconds:g} s"
        return "\n".join([
            f"{self.path} ({self.file_seconds:.1f} s; analysed {analysed})",
            f"predicted genre: {self.predicted_genre} (probability {self.probability:.2f})",
            f"highest-attention moment: {start:.1f}-{end:.1f} s",
            f"nearest {len(self.neighbours)} pieces by signature (cosine distance):",
            table,
        ])


def final_model_path(run: RunFolder) -> Path:
    """The final (all-clip) attention model of a run, or a clear error naming notebook 03."""
    path = run.path_of("model", pooling="attention", fold=FINAL)
    if not path.is_file():
        raise RunFolderError(
            f"Run folder {run.path} has no trained final model ({path.relative_to(run.path)}): "
            "run notebook 03_cv_training first.")
    return path


def similar_to_file(path: str | Path, run: RunFolder | str | Path, *, k: int = 5) -> SimilarResult:
    """The k pieces of `run` whose final-model signatures are nearest to the file's signature."""
    if not isinstance(run, RunFolder):
        run = open_existing_run(run)
    config = run.config
    model_path = final_model_path(run)
    database = load_final(run, "attention")["signature"]
    tracks = run.load_table("tracks")
    if len(tracks) != len(database):
        raise RunFolderError(f"Run folder {run.path}: the track table lists {len(tracks)} clips but the final "
                             f"signatures hold {len(database)}; run notebook 03_cv_training again.")
    if not 1 <= k <= len(database):
        raise ValueError(f"k={k} is invalid: expected 1 <= k <= {len(database)} (the run's pieces).")

    path = Path(path).expanduser()
    if path.is_dir():
        raise ValueError(f"{path} is a folder; give one audio file (for example a .wav or .mp3).")
    audio, _ = read_audio(path, sample_rate=config.sample_rate)
    file_seconds = len(audio) / config.sample_rate
    clip = fit_to_clip(audio, sample_rate=config.sample_rate, clip_seconds=config.clip_seconds,
                       min_clip_seconds=config.min_clip_seconds, name=str(path))
    offset_s = max(0, (len(audio) - config.clip_samples) // 2) / config.sample_rate

    image = image_like_source(log_mel_db(clip, config), config)  # as the model was trained
    outputs = explain(load_model(model_path), cut_tokens(image[None], config))
    indices, distances = nearest(outputs["signature"], database, k)
    neighbours = pd.DataFrame({
        "rank": np.arange(1, k + 1),
        "track_id": tracks["track_id"].to_numpy()[indices[0]],
        "genre": tracks["genre"].to_numpy()[indices[0]],
        "distance": distances[0],
    })
    probs = outputs["genre"][0]
    start, end = top_attention_window(outputs["attention"][0], token_seconds(config))
    moment = (float(min(start + offset_s, file_seconds)), float(min(end + offset_s, file_seconds)))
    return SimilarResult(path, neighbours, GENRES[int(np.argmax(probs))], float(probs.max()), moment,
                         float(file_seconds), float(offset_s), float(config.clip_seconds))

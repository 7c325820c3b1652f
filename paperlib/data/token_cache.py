"""Token extraction over a whole dataset: parallel, with a progress bar, cached on disk.

The cache key is the dataset's fingerprint plus every feature parameter, so a second run on the
same data is a cache hit and any change of data or geometry is a miss. Clips that cannot be used
(undecodable, too short) are skipped with a warning naming them; the run goes on without them.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from paperlib.core import paths
from paperlib.core.config import Config
from paperlib.core.files import atomic_path
from paperlib.core.parallel import parallel_map
from paperlib.data.audio import AudioError, load_clip
from paperlib.data.dataset import Dataset
from paperlib.data.features import (
    N_MFCC,
    TOP_DB,
    log_mel_db,
    mfcc_statistics,
    to_grayscale,
)
from paperlib.data.spectrogram_images import ImageError, read_png

FEATURE_VERSION = 2  # 2: headerless files are refused (version 1 read them as noise)


@dataclass(frozen=True)
class TokenImages:
    """Log-mel images of the usable clips, in track-table order, and the clips that were skipped."""

    track_ids: list[str]
    images: np.ndarray  # (clips, n_mels, n_frames) uint8
    mfcc_stats: np.ndarray  # (clips, 2 * N_MFCC) float32, for the clip-statistics baseline
    skipped: dict[str, str]  # track_id -> reason
    cache_hit: bool


def feature_key(config: Config) -> str:
    params = {k: getattr(config, k) for k in
              ("sample_rate", "clip_seconds", "min_clip_seconds", "n_mels", "n_fft", "hop_length")}
    params.update(top_db=TOP_DB, n_mfcc=N_MFCC, version=FEATURE_VERSION)
    if config.source != "audio":
        params["source"] = config.source
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:12]


def cache_file(dataset: Dataset, config: Config) -> Path:
    return paths.cache_dir() / "tokens" / f"{dataset.fingerprint[:16]}-{feature_key(config)}.npz"


def _features_of(files: tuple[Path, Path | None], *, config: Config) -> tuple[tuple | None, str | None]:
    """(image, MFCC statistics) of one clip, or None and why it cannot be used. With `source:
    images` the image comes from the clip's PNG; the audio is still read (baseline, listening)."""
    audio_path, image_path = files
    if config.source == "images" and image_path is None:
        return None, (f"no spectrogram image for {audio_path.name} in Kaggle's images_original "
                      "(source: images); the clip is left out")
    try:
        audio = load_clip(audio_path, config)
        db = log_mel_db(audio, config)
        image = read_png(image_path, config) if config.source == "images" else to_grayscale(db)
    except (AudioError, ImageError) as exc:
        return None, str(exc)
    return (image, mfcc_statistics(db)), None


def compile_librosa_here(config: Config) -> None:
    """Run the extraction once on a silent clip in this process, before the workers start: librosa
    compiles its numba functions when first imported (about 15 s with an empty cache), and every
    worker doing it at once both repeats that cost and can leave a damaged cache entry (two
    writers, numba issues 4807 and 10128). Compiled here, the workers read numba's cache."""
    mfcc_statistics(log_mel_db(np.zeros(2 * config.n_fft, dtype=np.float32), config))


def extract_images(dataset: Dataset, config: Config, *, progress: bool = True) -> TokenImages:
    """Images of every usable clip of `dataset`, from the cache when it holds them."""
    target = cache_file(dataset, config)
    if target.is_file():
        with np.load(target, allow_pickle=False) as data:
            result = TokenImages(list(data["track_ids"]), data["images"], data["mfcc_stats"],
                                 json.loads(str(data["skipped"])), cache_hit=True)
    else:
        ids, images, stats, skipped = [], [], [], {}
        compile_librosa_here(config)
        work = partial(_features_of, config=config)
        results = parallel_map(work, zip(dataset.paths(), dataset.image_paths()),
                               workers=config.workers,
                               desc="extracting tokens", progress=progress, unit="clips")
        for track_id, (found, problem) in zip(dataset.tracks["track_id"], results):
            if found is None:
                skipped[track_id] = problem
            else:
                ids.append(track_id)
                images.append(found[0])
                stats.append(found[1])
        image_stack = np.stack(images) if images else np.zeros((0, config.n_mels, config.n_frames), np.uint8)
        stat_stack = np.stack(stats) if stats else np.zeros((0, 2 * N_MFCC), np.float32)
        with atomic_path(target) as tmp:
            with open(tmp, "wb") as handle:
                np.savez(handle, track_ids=np.array(ids), images=image_stack,
                         mfcc_stats=stat_stack, skipped=np.array(json.dumps(skipped)))
        result = TokenImages(ids, image_stack, stat_stack, skipped, cache_hit=False)
    for track_id, reason in result.skipped.items():
        warnings.warn(f"Skipped clip {track_id}: {reason}", stacklevel=2)
    if not result.track_ids:
        raise AudioError(f"No usable clip in {dataset.root}: every file was skipped (see warnings).")
    return result

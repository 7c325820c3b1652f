"""Data speed: synthesis (one core), token extraction from WAV (all cores), loading 1000 cached clips.

Run: `.venv/bin/python benchmarks/bench_data.py` (or `make benchmark`). Prints a table; asserts nothing.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-data-"))
    os.environ["GENRE_SIGNATURES_DATA"] = str(tmp / "data")
    os.environ["GENRE_SIGNATURES_CACHE"] = str(tmp / "cache")
    from paperlib.core.session import configure_environment

    os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(__file__).resolve().parents[1] / ".cache" / "numba"))
    configure_environment()
    from paperlib.core.config import Config
    from paperlib.core.parallel import worker_count
    from paperlib.data.dataset import load_dataset
    from paperlib.data.features import cut_tokens
    from paperlib.data.genres import GENRES
    from paperlib.data.synthetic import render_clip
    from paperlib.data.token_cache import extract_images

    rows = []
    render_clip("blues", 0, seed=0)  # warm-up
    start = time.perf_counter()
    n = 0
    for genre in GENRES:
        for index in range(3):
            render_clip(genre, index, seed=1)
            n += 1
    rows.append(("synthesis, 1 core", n / (time.perf_counter() - start), "clips/s", ">= 10"))

    config = Config(clips_per_genre=20, seed=3)
    dataset = load_dataset(config, progress=False)
    extract_images(load_dataset(config.replace(clips_per_genre=6, seed=4), progress=False),
                   config.replace(clips_per_genre=6, seed=4), progress=False)  # warm numba
    start = time.perf_counter()
    images = extract_images(dataset, config, progress=False)
    seconds = time.perf_counter() - start
    cores = worker_count(0)
    rows.append((f"token extraction from WAV, {cores} cores (incl. worker start)",
                 len(images.track_ids) / seconds, "clips/s", ">= 100"))

    big = np.random.default_rng(0).integers(0, 256, (1000, 217, 335), dtype=np.uint8)
    cache = tmp / "cache1000.npz"
    np.savez(cache, images=big, track_ids=np.array([f"c{i}" for i in range(1000)]))
    start = time.perf_counter()
    with np.load(cache) as data:
        loaded = data["images"]
    tokens = cut_tokens(loaded, config)
    rows.append(("load 1000 cached clips + cut tokens", time.perf_counter() - start, "s", "<= 2"))
    del tokens

    print(f"{'measure':<58} {'value':>10}  {'unit':<8} goal")
    for name, value, unit, goal in rows:
        print(f"{name:<58} {value:>10.2f}  {unit:<8} {goal}")


if __name__ == "__main__":
    main()

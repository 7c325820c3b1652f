"""The embedded synthetic GTZAN: musical 30 s clips with a planted genre "signature moment".

Genres come in confusable pairs that share one style (tempo, drums, harmony, timbres) and differ
only in a 2-3 s motif, a lead slide: the same slide rising in one genre and falling in the other, so
clip-level statistics cannot tell them apart and the short moment is what a model must find. Classical and
jazz each have a style of their own. Everything is deterministic from (seed, genre, clip index).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache, partial
from pathlib import Path

import numpy as np
import pandas as pd

from paperlib.core import paths
from paperlib.core.files import atomic_path
from paperlib.core.parallel import parallel_map
from paperlib.data.genres import GENRES
from paperlib.data.synthetic_styles import CONFUSABLE_PAIRS, GENRE_RECIPES, SCALES, STYLES, TIMBRES

SYNTHESIS_VERSION = 1  # bump when the sound changes: it names the dataset folder
GROUND_TRUTH = "ground_truth.csv"
MOTIF_DB = 8.0  # the signature moment's mean level above the mix around it ...
MOTIF_SPREAD_DB = 2.0  # ... each clip's drawn within this of it
DECOY_BELOW_DB = 4.0  # a decoy (the paired genre's motif) sits this far below the clip's own motif
LEAD_GAIN = 0.25  # the wandering lead (same timbre as the motif) stays below it


@dataclass(frozen=True)
class ClipInfo:
    """Ground truth about one synthetic clip."""

    genre: str
    index: int
    tempo: float
    key: int
    motif_start_s: float
    motif_end_s: float
    motif_level_db: float


def clip_rng(seed: int, genre: str, index: int) -> np.random.Generator:
    """The random stream of one clip: independent of the order in which clips are made."""
    return np.random.default_rng([seed, GENRES.index(genre), index])


@lru_cache(maxsize=512)
def _tone(freq: float, n: int, timbre: str, sr: int) -> np.ndarray:
    harmonics, attack, decay, vibrato = TIMBRES[timbre]
    t = np.arange(n, dtype=np.float32) / sr
    phase = 2 * np.pi * freq * t
    if vibrato:
        phase = phase + (vibrato * freq / 5.5) * np.sin(2 * np.pi * 5.5 * t)
    out = np.zeros(n, dtype=np.float32)
    for k, amp in enumerate(harmonics, start=1):
        if amp and k * freq < sr / 2:
            out += np.float32(amp) * np.sin(k * phase, dtype=np.float32)
    if timbre == "dist":
        out = np.tanh(2.5 * out)
    env = np.minimum(1.0, t / attack) if attack else np.ones_like(t)
    if decay:
        env = env * np.exp(-t / decay)
    release = min(n, int(0.02 * sr))
    env[n - release:] *= np.linspace(1, 0, release, dtype=np.float32)
    return (out * env / np.float32(np.abs(out).max() + 1e-9)).astype(np.float32)


def _slide(start_hz: float, contour: tuple[float, ...], n: int, timbre: str, sr: int, *,
           picks: int) -> np.ndarray:
    """A lead line gliding through `contour` (semitones), re-picked `picks` times on the way."""
    harmonics, attack, _, vibrato = TIMBRES[timbre]
    semis = np.interp(np.linspace(0, len(contour) - 1, n), np.arange(len(contour)), contour)
    t = np.arange(n, dtype=np.float32) / sr
    freq = start_hz * 2 ** (semis / 12) * (1 + vibrato * np.sin(2 * np.pi * 5.5 * t))
    phase = 2 * np.pi * np.cumsum(freq) / sr
    top = float(freq.max())
    out = np.zeros(n, dtype=np.float32)
    for k, amp in enumerate(harmonics, start=1):
        if amp and k * top < sr / 2:
            out += np.float32(amp) * np.sin(k * phase).astype(np.float32)
    if timbre == "dist":
        out = np.tanh(2.5 * out)
    since_pick = (t % (n / sr / picks))
    env = (0.55 + 0.45 * np.exp(-since_pick / 0.08)) * np.minimum(1.0, t / max(attack, 0.005))
    release = min(n, int(0.05 * sr))
    env[n - release:] *= np.linspace(1, 0, release, dtype=np.float32)
    return (out * env / np.float32(np.abs(out).max() + 1e-9)).astype(np.float32)


def _drum(kind: str, rng: np.random.Generator, sr: int, decay: float = 0.05) -> np.ndarray:
    if kind == "kick":
        n = int(0.3 * sr)
        t = np.arange(n) / sr
        f = 45 + 80 * np.exp(-t / 0.03) * rng.uniform(0.8, 1.2)
        return (np.sin(2 * np.pi * np.cumsum(f) / sr) * np.exp(-t / 0.12)).astype(np.float32)
    if kind == "snare":
        n = int(0.2 * sr)
        t = np.arange(n) / sr
        body = np.sin(2 * np.pi * rng.uniform(170, 210) * t) * np.exp(-t / 0.04)
        return (0.6 * body + rng.standard_normal(n) * np.exp(-t / 0.06)).astype(np.float32) * 0.7
    n = int(max(0.02, 4 * decay) * sr)  # hat / ride: high-passed noise
    t = np.arange(n) / sr
    noise = np.diff(rng.standard_normal(n + 1))
    return (0.35 * noise * np.exp(-t / decay)).astype(np.float32)


def _place(out: np.ndarray, shot: np.ndarray, start: int, gain: float) -> None:
    if start >= len(out):
        return
    end = min(len(out), start + len(shot))
    out[start:end] += gain * shot[: end - start]


def _hz(root_midi: int, semitones: int) -> float:
    return 440.0 * 2 ** ((root_midi + semitones - 69) / 12)


def _degree(scale: tuple[int, ...], degree: int) -> int:
    """Semitones above the tonic of a scale degree (may exceed one octave)."""
    octave, step = divmod(degree, len(scale))
    return 12 * octave + scale[step]


def render_clip(genre: str, index: int, *, seed: int, sample_rate: int = 22050,
                seconds: float = 30.0, motif_db: float = MOTIF_DB,
                decoys: int = 0) -> tuple[np.ndarray, ClipInfo]:
    """Synthesize one clip (float32 mono in [-1, 1]) and its ground truth. `motif_db`: the
    signature moment's mean level above the mix; `decoys`: quieter slides of the paired genre's
    motif planted elsewhere in a clip of a confusable pair (how hard the moment is to find)."""
    if genre not in GENRE_RECIPES:
        raise ValueError(f"Unknown genre {genre!r}: expected one of {GENRES}.")
    if seconds < 5:
        raise ValueError(f"seconds={seconds} is too short: a synthetic clip needs at least 5 s.")
    sr = sample_rate
    rng = clip_rng(seed, genre, index)
    style_name, motif_shape = GENRE_RECIPES[genre]
    style = STYLES[style_name]
    scale = SCALES[style.scale]
    n = int(round(seconds * sr))
    tempo = float(rng.uniform(*style.tempo))
    step = 60.0 / tempo / 4  # a 16th note, in seconds
    tonic = 45 + int(rng.integers(0, 12))  # A2 .. G#3
    offset = rng.uniform(0, 16 * step)  # the clip starts anywhere in a bar
    n_steps = int(np.ceil((seconds + offset) / step)) + 1

    def at(s: int) -> int:
        swing = style.swing * step if s % 2 == 1 else 0.0
        return int((s * step + swing - offset) * sr + rng.normal(0, 0.004) * sr)

    drums = np.zeros(n, np.float32)
    chords = np.zeros(n, np.float32)
    bass = np.zeros(n, np.float32)
    lead = np.zeros(n, np.float32)
    kick, snare = _drum("kick", rng, sr), _drum("snare", rng, sr)
    hat = _drum("hat", rng, sr, style.hat_decay or 0.05)
    chord_n = int(style.chord_len * step * sr)
    bass_n = int(min(4, 16 / max(1, len(style.bass_steps))) * step * sr)
    walk = 0
    for s in range(n_steps):
        pos = s % 16
        start = at(s)
        if start + sr < 0:
            continue
        start = max(start, 0)
        bar_root = style.progression[(s // 16) % len(style.progression)]
        if pos in style.kick:
            _place(drums, kick, start, rng.uniform(0.85, 1.0))
        if pos in style.snare:
            _place(drums, snare, start, rng.uniform(0.7, 0.9))
        if pos in style.hat:
            _place(drums, hat, start, rng.uniform(0.4, 0.7))
        if pos in style.chord_steps:
            for j in range(style.chord_size):
                semis = _degree(scale, bar_root + 2 * j) + 12
                _place(chords, _tone(_hz(tonic, semis), chord_n, style.chord_timbre, sr), start,
                       0.5 / style.chord_size)
        if pos in style.bass_steps:
            if style.walking_bass:
                walk = int(np.clip(walk + rng.choice([-1, 1, 2]), -3, 7))
                semis = _degree(scale, bar_root + walk) - 12 if walk >= 0 else -12 + walk
            else:
                semis = _degree(scale, bar_root) - 12 + (12 if pos in (6, 14) else 0)
            _place(bass, _tone(_hz(tonic, semis), bass_n, style.bass_timbre, sr), start, 0.6)
        if pos % 4 == 0 and rng.random() < 0.18:  # a sparse, wandering lead
            degree = int(rng.integers(0, 7))
            semis = _degree(scale, degree) + 12
            _place(lead, _tone(_hz(tonic, semis), int(2 * step * sr), style.lead_timbre, sr),
                   start, LEAD_GAIN)

    gains = np.array(style.gains) * 10 ** (rng.normal(0, 1.5, 4) / 20)
    mix = gains[0] * drums + gains[1] * chords + gains[2] * bass + gains[3] * lead

    # The signature moment: the genre's motif, a little louder than the mix around it.
    motif_len = rng.uniform(2.0, 3.0)
    motif_start = rng.uniform(0.5, seconds - motif_len - 0.5)
    motif = _slide(_hz(tonic, 24), motif_shape, int(motif_len * sr), style.lead_timbre, sr,
                   picks=int(rng.integers(4, 8)))
    m0 = int(motif_start * sr)
    region = mix[m0:m0 + len(motif)]
    level_db = float(rng.uniform(motif_db - MOTIF_SPREAD_DB, motif_db + MOTIF_SPREAD_DB))
    motif_gain = (np.sqrt(np.mean(region ** 2)) + 1e-4) / (np.sqrt(np.mean(motif ** 2)) + 1e-9)
    mix[m0:m0 + len(motif)] += motif_gain * 10 ** (level_db / 20) * motif
    if decoys:
        _plant_decoys(mix, genre, index, seed=seed, count=decoys, motif=(m0, m0 + len(motif)),
                      start_hz=_hz(tonic, 24), timbre=style.lead_timbre, level_db=level_db - DECOY_BELOW_DB,
                      sr=sr)

    # Room (a few early reflections), noise and level.
    room = rng.uniform(0.0, 0.35)
    wet = np.zeros_like(mix)
    for _ in range(5):
        d = int(rng.uniform(0.015, 0.12) * sr)
        wet[d:] += rng.uniform(0.3, 1.0) * mix[:-d]
    mix = mix + room / 5 * wet
    rms = float(np.sqrt(np.mean(mix ** 2))) + 1e-9
    mix += rms * 10 ** (rng.uniform(-45, -28) / 20) * rng.standard_normal(n).astype(np.float32)
    mix *= rng.uniform(0.5, 0.95) / (np.abs(mix).max() + 1e-9)
    info = ClipInfo(genre, index, round(tempo, 3), tonic % 12, round(motif_start, 4),
                    round(motif_start + len(motif) / sr, 4), round(level_db, 3))
    return mix.astype(np.float32), info


def partner(genre: str) -> str | None:
    """The other genre of `genre`'s confusable pair (None for a genre of a style of its own)."""
    return next((b if a == genre else a for a, b in CONFUSABLE_PAIRS if genre in (a, b)), None)


def _plant_decoys(mix: np.ndarray, genre: str, index: int, *, seed: int, count: int,
                  motif: tuple[int, int], start_hz: float, timbre: str, level_db: float,
                  sr: int) -> list[tuple[int, int]]:
    """Add `count` slides of the paired genre's motif at `level_db` above the mix, each where
    neither the clip's motif nor another decoy is; return their sample spans (fewer where the clip
    has no room, none for a genre without a pair). From a stream of their own: the rest of the
    clip is the clip without decoys."""
    other = partner(genre)
    if other is None:
        return []
    rng = np.random.default_rng([seed, GENRES.index(genre), index, 1])
    taken = [motif]
    for _ in range(count):
        n = int(rng.uniform(2.0, 3.0) * sr)
        for _try in range(200):
            start = int(rng.uniform(0.5 * sr, len(mix) - n - 0.5 * sr))
            if all(start + n <= a or start >= b for a, b in taken):
                break
        else:
            break  # no room left for another decoy
        taken.append((start, start + n))
        decoy = _slide(start_hz, GENRE_RECIPES[other][1], n, timbre, sr, picks=int(rng.integers(4, 8)))
        region = mix[start:start + n]
        gain = (np.sqrt(np.mean(region ** 2)) + 1e-4) / (np.sqrt(np.mean(decoy ** 2)) + 1e-9)
        mix[start:start + n] += gain * 10 ** (level_db / 20) * decoy
    return taken[1:]


def synthetic_root(*, seed: int, clips_per_genre: int, sample_rate: int, seconds: float,
                   motif_db: float = MOTIF_DB, decoys: int = 0) -> Path:
    """Where a synthetic dataset lives: one folder per set of generator parameters."""
    name = f"seed{seed}-{clips_per_genre}x{len(GENRES)}-{sample_rate}hz-{seconds:g}s-v{SYNTHESIS_VERSION}"
    name += (f"-motif{motif_db:g}db" if motif_db != MOTIF_DB else "") + (f"-decoys{decoys}" if decoys else "")
    return paths.data_dir() / "synthetic" / name


def _write_clip(job: tuple[str, int], *, root: Path, seed: int, sample_rate: int,
                seconds: float, motif_db: float, decoys: int) -> dict[str, object]:
    import soundfile as sf

    genre, index = job
    audio, info = render_clip(genre, index, seed=seed, sample_rate=sample_rate, seconds=seconds,
                              motif_db=motif_db, decoys=decoys)
    path = root / "genres_original" / genre / f"{genre}.{index:05d}.wav"
    with atomic_path(path) as tmp:
        sf.write(tmp, audio, sample_rate, subtype="PCM_16", format="WAV")
    return {"track_id": path.stem, **asdict(info)}


def write_synthetic(*, seed: int, clips_per_genre: int, sample_rate: int = 22050,
                    seconds: float = 30.0, motif_db: float = MOTIF_DB, decoys: int = 0,
                    workers: int = 0, progress: bool = True) -> Path:
    """Write the dataset as GTZAN-layout WAV files plus `ground_truth.csv` (written last).

    An existing complete dataset is reused; an interrupted one is written again.
    """
    root = synthetic_root(seed=seed, clips_per_genre=clips_per_genre, sample_rate=sample_rate,
                          seconds=seconds, motif_db=motif_db, decoys=decoys)
    truth = root / GROUND_TRUTH
    if truth.is_file():
        return root
    jobs = [(g, i) for g in GENRES for i in range(clips_per_genre)]
    write = partial(_write_clip, root=root, seed=seed, sample_rate=sample_rate, seconds=seconds,
                    motif_db=motif_db, decoys=decoys)
    rows = list(parallel_map(write, jobs, workers=workers, desc="synthesizing clips", unit="clips",
                             progress=progress))
    with atomic_path(truth) as tmp:
        pd.DataFrame(rows).to_csv(tmp, index=False)
    return root

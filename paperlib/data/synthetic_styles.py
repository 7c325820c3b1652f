"""The musical recipes of the synthetic GTZAN: scales, timbres, each style's tempo, groove, harmony
and mix, and each genre's style and signature motif (genres of a confusable pair share a style and
differ only in the direction of their motif's slide)."""

from __future__ import annotations

from dataclasses import dataclass

SCALES = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
}


@dataclass(frozen=True)
class Style:
    """What a family of genres shares: groove, harmony and instruments."""

    tempo: tuple[float, float]
    swing: float
    scale: str
    progression: tuple[int, ...]  # scale degree of each bar's chord root
    chord_size: int  # 3 = triads, 4 = sevenths
    chord_timbre: str
    chord_steps: tuple[int, ...]  # 16th steps of a bar where the chord sounds
    chord_len: int  # in 16th steps
    bass_timbre: str
    bass_steps: tuple[int, ...]
    walking_bass: bool
    kick: tuple[int, ...]
    snare: tuple[int, ...]
    hat: tuple[int, ...]
    hat_decay: float
    lead_timbre: str
    gains: tuple[float, float, float, float]  # drums, chords, bass, lead


def _steps(*s: int) -> tuple[int, ...]:
    return tuple(s)


STYLES: dict[str, Style] = {
    "roots": Style((82, 104), 0.33, "mixolydian", (0, 0, 3, 0, 4, 3, 0, 4), 4, "pluck",
                   _steps(0, 4, 8, 12), 3, "bass", _steps(0, 6, 8, 14), False,
                   _steps(0, 8), _steps(4, 12), _steps(0, 2, 4, 6, 8, 10, 12, 14), 0.05,
                   "reed", (0.6, 0.9, 0.8, 0.7)),
    "groove": Style((74, 94), 0.12, "minor", (0, 0, 3, 4), 3, "organ",
                    _steps(2, 6, 10, 14), 1, "sub", _steps(0, 3, 8, 10), False,
                    _steps(0, 7, 10), _steps(8,), _steps(0, 2, 4, 6, 8, 10, 12, 14), 0.03,
                    "square", (1.0, 0.6, 1.1, 0.7)),
    "dance": Style((112, 128), 0.0, "major", (0, 4, 5, 3), 3, "saw",
                   _steps(0, 3, 6, 10), 2, "bass", _steps(0, 2, 4, 6, 8, 10, 12, 14), False,
                   _steps(0, 4, 8, 12), _steps(4, 12), _steps(2, 6, 10, 14), 0.12,
                   "bright", (0.9, 0.6, 0.8, 0.7)),
    "band": Style((104, 150), 0.0, "minor", (0, 5, 3, 4), 2, "dist",
                  _steps(0, 2, 4, 6, 8, 10, 12, 14), 2, "bass", _steps(0, 2, 4, 6, 8, 10, 12, 14),
                  False, _steps(0, 6, 8), _steps(4, 12), _steps(0, 2, 4, 6, 8, 10, 12, 14), 0.08,
                  "dist", (1.0, 0.7, 0.7, 0.7)),
    "classical": Style((60, 84), 0.0, "major", (0, 3, 4, 0, 5, 3, 4, 0), 3, "string",
                       _steps(0,), 16, "string", _steps(0, 8), False, (), (), (), 0.0,
                       "flute", (0.0, 0.8, 0.6, 0.7)),
    "jazz": Style((100, 170), 0.3, "dorian", (1, 4, 0, 0), 4, "piano",
                  _steps(3, 6, 11), 2, "bass", _steps(0, 4, 8, 12), True,
                  _steps(0,), _steps(), _steps(0, 4, 6, 8, 12, 14), 0.35,
                  "sax", (0.5, 0.8, 0.9, 0.7)),
}


# genre -> (style, the motif's pitch contour in semitones above its first note)
_RISE = (0.0, 19.0)  # a slide up an octave and a fifth ...


_FALL = (19.0, 0.0)  # ... and the same slide down: equal notes and timbre, reversed in time


GENRE_RECIPES: dict[str, tuple[str, tuple[float, ...]]] = {
    "blues": ("roots", _RISE), "country": ("roots", _FALL),
    "hiphop": ("groove", _RISE), "reggae": ("groove", _FALL),
    "disco": ("dance", _RISE), "pop": ("dance", _FALL),
    "rock": ("band", _RISE), "metal": ("band", _FALL),
    "classical": ("classical", (0.0, 12.0, 0.0)),
    "jazz": ("jazz", (0.0, 10.0, 3.0, 14.0)),
}


CONFUSABLE_PAIRS = (("blues", "country"), ("hiphop", "reggae"), ("disco", "pop"), ("rock", "metal"))


# timbre -> (harmonic amplitudes, attack s, decay time constant s (0 = sustained), vibrato depth)
TIMBRES: dict[str, tuple[tuple[float, ...], float, float, float]] = {
    "pluck": ((1, 0.5, 0.33, 0.25, 0.2, 0.16), 0.004, 0.35, 0.0),
    "organ": ((1, 0.6, 0.0, 0.4, 0.0, 0.25), 0.01, 0.0, 0.0),
    "saw": ((1, 0.5, 0.33, 0.25, 0.2, 0.17, 0.14, 0.12), 0.01, 0.0, 0.0),
    "dist": ((1, 0.9, 0.8, 0.7, 0.6, 0.5, 0.45, 0.4), 0.005, 0.0, 0.0),
    "string": ((1, 0.5, 0.33, 0.25, 0.2), 0.12, 0.0, 0.004),
    "piano": ((1, 0.3, 0.12, 0.05), 0.003, 0.6, 0.0),
    "bass": ((1, 0.45, 0.15), 0.005, 0.45, 0.0),
    "sub": ((1, 0.12), 0.01, 0.7, 0.0),
    "reed": ((1, 0.0, 0.6, 0.0, 0.4, 0.0, 0.25), 0.02, 0.0, 0.006),
    "square": ((1, 0.0, 0.33, 0.0, 0.2, 0.0, 0.14), 0.005, 0.0, 0.0),
    "bright": ((1, 0.7, 0.5, 0.4, 0.3, 0.25), 0.005, 0.8, 0.0),
    "flute": ((1, 0.25, 0.08), 0.05, 0.0, 0.005),
    "sax": ((1, 0.7, 0.5, 0.35, 0.2, 0.12), 0.02, 0.0, 0.004),
}

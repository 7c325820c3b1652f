"""The paper's own input (`source: images`): Kaggle GTZAN's `images_original` PNGs.

Kaggle's copy of GTZAN holds, beside `genres_original/`, a folder `images_original/<genre>/` of
432 x 288 PNGs (`blues00000.png` for `blues.00000.wav`): matplotlib mel-spectrogram plots in colour,
low frequencies at the bottom, the plot area framed by white margins. The paper's 217-row tokens are
that plot area. Here the plot area is found from the pixels (everything not white), converted to
grayscale, turned low-frequency-first like the audio path's images, and resampled to the run's
(n_mels, n_frames) so the same 10 tokens are cut. `render_png` draws a PNG like those from a log-mel
image (an approximation: Kaggle's exact rendering is not published); the tests use it on synthetic
clips, and `paperlib similar` on a query file of a `source: images` run.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from paperlib.core.config import Config
from paperlib.data.features import to_grayscale
from paperlib.data.layout import DatasetError

IMAGES_FOLDER = "images_original"
KAGGLE_SIZE = (432, 288)  # width, height in pixels
MIN_PLOT_FRACTION = 0.4  # a plot area smaller than this share of either side is not a spectrogram
MAX_PIXELS = 4096 * 4096  # a larger canvas is refused before decoding


class ImageError(ValueError):
    """A spectrogram image that cannot be used: it names the file, the problem and what to do."""


def image_name(track_id: str) -> str:
    """Kaggle's file name of a clip's image: 'blues.00000' -> 'blues00000.png'."""
    return track_id.replace(".", "") + ".png"


def find_image_root(genre_root: Path) -> Path:
    """`images_original/` beside the audio's genre folder (Kaggle: Data/genres_original)."""
    for folder in (genre_root.parent, genre_root.parent.parent):
        candidate = folder / IMAGES_FOLDER
        if candidate.is_dir():
            return candidate
    raise DatasetError(
        f"source: images needs Kaggle's {IMAGES_FOLDER}/ folder beside {genre_root} (as in "
        f"Data/genres_original and Data/{IMAGES_FOLDER}); none was found. Use source: audio, or "
        "place the Kaggle folder there (the audio is still needed: the MFCC baseline and the "
        "listening notebook read it)."
    )


def image_paths(genre_root: Path, track_ids: list[str], genres: list[str]) -> list[str | None]:
    """Each clip's image path relative to `genre_root` (None where Kaggle has no image)."""
    image_root = find_image_root(genre_root)
    found = []
    for track_id, genre in zip(track_ids, genres):
        path = image_root / genre / image_name(track_id)
        found.append(os.path.relpath(path, genre_root) if path.is_file() else None)
    return found


def render_png(db: np.ndarray, path: str | Path, config: Config) -> Path:
    """Draw a log-mel image (dB, low frequencies first) as Kaggle did: 432 x 288, colour, axes off."""
    import librosa.display
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig = Figure(figsize=(KAGGLE_SIZE[0] / 100, KAGGLE_SIZE[1] / 100), dpi=100)
    FigureCanvasAgg(fig)  # no pyplot: the caller's backend and figures are left alone
    ax = fig.add_subplot()
    # rows drawn evenly by mel band (librosa's mel axis would warp them: symlog above 1 kHz)
    librosa.display.specshow(db, sr=config.sample_rate, hop_length=config.hop_length, ax=ax,
                             cmap="magma")
    ax.set_axis_off()
    fig.savefig(path, dpi=100)
    return path


def plot_area(pixels: np.ndarray) -> tuple[slice, slice]:
    """Rows and columns of the plot: the bounding box of every pixel that is not white."""
    rgb = pixels[..., :3].astype(np.int16)
    ink = (rgb < 250).any(axis=-1)
    if pixels.shape[-1] == 4:
        ink &= pixels[..., 3] > 0
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if rows.size == 0:
        return slice(0, 0), slice(0, 0)
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def read_png(path: str | Path, config: Config) -> np.ndarray:
    """A spectrogram PNG -> uint8 (n_mels, n_frames) image, low frequencies first."""
    from PIL import Image

    path = Path(path)
    try:
        with Image.open(path) as image:
            if image.width * image.height > MAX_PIXELS:
                raise ImageError(f"Image {path} claims {image.width} x {image.height} pixels, far "
                                 "more than a spectrogram plot (Kaggle's are 432 x 288); it is "
                                 "corrupt or not one of them: replace it or remove it.")
            pixels = np.asarray(image.convert("RGBA"))
    except (ImageError, MemoryError, RecursionError):
        raise
    except Exception as exc:  # noqa: BLE001 - PIL raises many kinds (UnidentifiedImageError, SyntaxError, ...)
        raise ImageError(f"Cannot read image {path}: {type(exc).__name__}: {exc}. The file is "
                         "corrupt or not a PNG; replace it or remove it.") from None
    rows, cols = plot_area(pixels)
    height, width = rows.stop - rows.start, cols.stop - cols.start
    if height < MIN_PLOT_FRACTION * pixels.shape[0] or width < MIN_PLOT_FRACTION * pixels.shape[1]:
        raise ImageError(
            f"Image {path} ({pixels.shape[1]} x {pixels.shape[0]}) has no spectrogram plot: its "
            f"non-white area is {width} x {height} pixels. Expected Kaggle's 432 x 288 mel plots.")
    plot = Image.fromarray(pixels[rows, cols]).convert("L")
    plot = plot.resize((config.n_frames, config.n_mels), Image.Resampling.BILINEAR)
    return np.ascontiguousarray(np.asarray(plot, dtype=np.uint8)[::-1])


def image_like_source(db: np.ndarray, config: Config) -> np.ndarray:
    """The uint8 image the run's model expects for a log-mel image `db`: the audio path's
    grayscale, or with `source: images` `db` drawn by `render_png` and read back, an approximation
    of Kaggle's PNGs (their exact rendering is not published)."""
    import tempfile

    if config.source != "images":
        return to_grayscale(db)
    with tempfile.TemporaryDirectory() as tmp:
        return read_png(render_png(db, Path(tmp) / "query.png", config), config)

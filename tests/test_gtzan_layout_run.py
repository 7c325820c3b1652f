"""Notebooks 01-03 with papermill on a small folder in GTZAN's original layout.

Synthetic clips are converted to what the real GTZAN distribution holds,
`genres/<genre>/<genre>.000NN.au` (Sun/NeXT AU, 16-bit PCM, 22050 Hz), and one of them is
corrupted, as a bad file in a real download would be. One papermill run of notebooks 01, 02 and 03
on the `smoke` profile (dataset gtzan, 2 folds, 2 epochs) then proves, through the notebooks, that
the layout is found, every good .au file is decoded, the bad one is skipped with a message naming it,
and 02 and 03 work on the result. The tests below check the numbers each notebook saved.
"""

from __future__ import annotations

import contextlib
import json

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from paperlib.core.registry import FINAL, artifact
from paperlib.core.run_folder import open_existing_run
from paperlib.data.genres import GENRES

CLIPS_PER_GENRE = 6
WRITTEN = CLIPS_PER_GENRE * len(GENRES)  # .au files written, the bad one included
CORRUPT = "jazz.00004"  # like the Kaggle copy's jazz.00054.wav: present, but not decodable
NOTEBOOKS = ["01_data", "02_model", "03_cv_training"]
FOLDS = 2
EPOCHS = 2
# As small as the notebooks allow: 03 still trains every fold and the final model, with attention
# held uniform for the first epoch and let loose in the second.
RUN_PARAMS = {"dataset": "gtzan", "folds": FOLDS, "epochs": EPOCHS, "early_stopping_start": EPOCHS,
              "attention_warmup": 1, "workers": 1}


def corrupt_au_bytes() -> bytes:
    """An AU file whose header is damaged after its magic number: garbage where the data offset,
    size, encoding, rate and channels should be, then garbage samples."""
    return b".snd" + bytes(range(256)) * 200


def write_gtzan_folder(folder, clips) -> list:
    """`folder/genres/<genre>/<track>.au` for every clip, CORRUPT written as garbage; the paths."""
    for track_id, (genre, audio, rate) in clips.items():
        path = folder / "genres" / genre / f"{track_id}.au"
        path.parent.mkdir(parents=True, exist_ok=True)
        if track_id == CORRUPT:
            path.write_bytes(corrupt_au_bytes())
        else:
            sf.write(path, audio, rate, format="AU", subtype="PCM_16")
    return sorted(folder.glob("genres/*/*.au"))


@contextlib.contextmanager
def synthetic_source(root, *, seconds: float = 30.0):
    """Data, runs and a fresh token cache under `root` (so 01 decodes the files written here
    instead of reading an earlier run's images); yields the synthetic dataset's folder of
    `seconds`-long clips."""
    from paperlib.core.session import configure_environment
    from paperlib.data.synthetic import write_synthetic

    with pytest.MonkeyPatch.context() as patch:
        configure_environment()
        for name, folder in (("DATA", "synthetic"), ("RUNS", "runs"), ("CACHE", "cache")):
            patch.setenv(f"GENRE_SIGNATURES_{name}", str(root / folder))
        yield write_synthetic(seed=7, clips_per_genre=CLIPS_PER_GENRE, sample_rate=22050,
                              seconds=seconds, workers=0, progress=False)


@pytest.fixture(scope="module")
def gtzan_run(tmp_path_factory):
    """Notebooks 01-03 run once on the .au folder: a dict with the run folder, the executed
    notebooks, the data folder, the written files and the track ids of the good ones."""
    from paperlib.publish.notebook_runner import run_notebooks

    if "AU" not in sf.available_formats():
        pytest.skip("this libsndfile cannot write AU files")
    root = tmp_path_factory.mktemp("gtzan_layout")
    with synthetic_source(root) as source:
        clips = {}
        for genre in GENRES:
            for wav in sorted((source / "genres_original" / genre).glob("*.wav")):
                audio, rate = sf.read(wav, dtype="float32")
                clips[wav.stem] = (genre, audio, rate)
        data_dir = root / "gtzan"  # holds only genres/: nothing in the Kaggle layout to fall back on
        written = write_gtzan_folder(data_dir, clips)
        run_dir = root / "run"
        executed = run_notebooks("smoke", {**RUN_PARAMS, "data_dir": str(data_dir), "run_dir": str(run_dir)},
                                 only=NOTEBOOKS, progress=False)
    metrics = open_existing_run(run_dir).results()
    return {"run_dir": run_dir, "executed": executed, "data_dir": data_dir, "written": written,
            "good_ids": sorted(set(clips) - {CORRUPT}), "metrics": metrics}


def notebook_text(path) -> str:
    """Every output of an executed notebook (stdout, stderr, results) as one string."""
    chunks = []
    for cell in json.loads(path.read_text())["cells"]:
        for out in cell.get("outputs", []):
            text = out.get("text") or out.get("data", {}).get("text/plain") or ""
            chunks.append(text if isinstance(text, str) else "".join(text))
    return "\n".join(chunks)


@pytest.mark.slow
def test_the_folder_is_in_gtzan_original_layout(gtzan_run):
    written = gtzan_run["written"]
    assert len(written) == WRITTEN and not list(gtzan_run["data_dir"].rglob("*.wav"))
    assert {p.parent.name for p in written} == set(GENRES)
    assert all(p.stem.startswith(p.parent.name + ".000") for p in written)
    good = [p for p in written if p.stem != CORRUPT]
    info = sf.info(good[0])
    assert (info.format, info.subtype, info.samplerate, info.channels) == ("AU", "PCM_16", 22050, 1)
    with pytest.raises(RuntimeError):  # the bad file really is undecodable by libsndfile
        sf.info(next(p for p in written if p.stem == CORRUPT))


@pytest.mark.slow
def test_notebooks_ran_and_saved_their_metrics(gtzan_run):
    executed, run_dir = gtzan_run["executed"], gtzan_run["run_dir"]
    assert [p.stem for p in executed] == NOTEBOOKS
    assert all(p.is_file() and p == run_dir / artifact("executed_notebook").relative(notebook=p.stem) for p in executed)
    assert set(gtzan_run["metrics"]) == set(NOTEBOOKS)
    for step in NOTEBOOKS:
        assert gtzan_run["metrics"][step].claims, f"{step} saved no 'paper vs this run' claims"


@pytest.mark.slow
def test_01_found_the_layout_and_decoded_every_good_au_file(gtzan_run):
    data, run_dir = gtzan_run["metrics"]["01_data"], gtzan_run["run_dir"]
    assert data.dataset == "gtzan"
    assert data.clips + data.skipped == WRITTEN, "01 did not see every file written"
    assert data.clips == WRITTEN - 1 and data.skipped == 1
    assert data.cache_hit is False, "01 should have decoded the .au files, not read a cache"
    expected = {g: CLIPS_PER_GENRE - (g == "jazz") for g in GENRES}
    assert data.clips_per_genre == expected
    # 30 s at 22050 Hz with hop 1975: 335 frames, so the files were read at their own rate
    assert data.token_shape == [10, 217, 45] and data.image_rows == 217
    assert data.image_frames == 335
    assert data.moment_covered_by_one_token is None  # no planted moments in a GTZAN folder
    assert "no planted moments" in data.missing["moment_covered_by_one_token"]
    [claim] = [c for c in data.claims if "1000 clips" in c.paper]
    assert claim.verdict == "does not hold"
    assert claim.this_run == f"{WRITTEN} gtzan clips, {WRITTEN - 1} used"  # the folder's, then the run's

    manifest = json.loads((run_dir / artifact("manifest").relative()).read_text())
    assert manifest["config"]["dataset"] == "gtzan"
    assert manifest["dataset_root"] == str(gtzan_run["data_dir"] / "genres")
    assert manifest["dataset_fingerprint"] == data.fingerprint
    tracks = pd.read_csv(run_dir / artifact("tracks").relative())
    assert sorted(tracks["track_id"]) == gtzan_run["good_ids"]
    assert (tracks["path"] == tracks["genre"] + "/" + tracks["track_id"] + ".au").all()
    assert (tracks["label"] == tracks["genre"].map(GENRES.index)).all()


@pytest.mark.slow
def test_01_skipped_the_corrupt_clip_and_named_it(gtzan_run):
    tracks = pd.read_csv(gtzan_run["run_dir"] / artifact("tracks").relative())
    assert CORRUPT not in set(tracks["track_id"])
    output = notebook_text(gtzan_run["executed"][0])
    assert f"{WRITTEN - 1} usable clips from {gtzan_run['data_dir'] / 'genres'}" in output
    assert "skipped: 1;" in output
    # the warning names the clip and its file, and says what is wrong
    assert f"Skipped clip {CORRUPT}: Cannot decode" in output and f"jazz/{CORRUPT}.au" in output
    assert output.count("Skipped clip") == 1


@pytest.mark.slow
def test_02_built_and_checked_the_model(gtzan_run):
    model = gtzan_run["metrics"]["02_model"]
    assert model.roundtrip_max_difference == 0.0 and model.attention_sum_max_error < 1e-5
    assert model.output_shapes["genre"] == [len(GENRES)]
    assert model.output_shapes["attention"] == [10]
    assert model.trainable_parameters > 0


@pytest.mark.slow
def test_03_cross_validated_on_the_usable_clips(gtzan_run):
    cv, run_dir = gtzan_run["metrics"]["03_cv_training"], gtzan_run["run_dir"]
    assert cv.split == "random" and cv.folds == FOLDS
    assert len(cv.fold_accuracies) == FOLDS and cv.epochs_run == [EPOCHS] * FOLDS
    accuracies = {name: getattr(cv, name) for name in (
        "oof_accuracy", "fold_accuracy_mean", "fold_accuracy_min", "mfcc_logistic_accuracy",
        "chance", "final_model_in_sample_accuracy")}
    accuracies.update({f"fold {i + 1}": a for i, a in enumerate(cv.fold_accuracies)})
    for name, value in accuracies.items():
        assert isinstance(value, float) and 0.0 <= value <= 1.0, f"{name} = {value!r}"
    assert cv.chance == pytest.approx(CLIPS_PER_GENRE / (WRITTEN - 1))
    assert cv.fold_accuracy_min == min(cv.fold_accuracies)
    assert cv.mean_pool_oof_accuracy is None
    folds = pd.read_csv(run_dir / artifact("fold_table").relative(pooling="attention"))
    assert folds["held_out_clips"].sum() == WRITTEN - 1
    with np.load(run_dir / artifact("oof").relative(pooling="attention")) as oof:
        assert oof["genre"].shape == (WRITTEN - 1, len(GENRES))
        assert oof["attention"].shape == (WRITTEN - 1, 10)
        assert np.allclose(oof["attention"].sum(axis=1), 1.0, atol=1e-5)
        assert np.isclose(np.mean(oof["genre"].argmax(1) == oof["label"]), cv.oof_accuracy)
    assert (run_dir / artifact("model").relative(pooling="attention", fold=FINAL)).is_file()


def test_an_au_file_of_pure_garbage_is_refused(tmp_path):
    from paperlib.data.audio import AudioError, load_clip

    path = tmp_path / f"{CORRUPT}.au"
    path.write_bytes(np.random.default_rng(0).bytes(100_000))
    with pytest.raises(AudioError, match="Cannot decode"):
        load_clip(path, sample_rate=22050, clip_seconds=30.0, min_clip_seconds=4.0)

"""The fault-filtered split through the notebooks that choose clips by the split, on synthetic clips
named after listed GTZAN tracks in GTZAN's original layout (10 s clips: the split's bookkeeping is
under test; test_gtzan_layout_run.py reads full 30 s .au files)."""

from __future__ import annotations

import pytest
import soundfile as sf

from paperlib.core.run_folder import open_existing_run
from paperlib.data.genres import GENRES
from tests.conftest import METADATA
from tests.test_gtzan_layout_run import RUN_PARAMS, synthetic_source

# The notebooks that choose clips by the split (the others read the final all-clip model or no
# clip at all; the smoke run checks them): the fault-filtered run executes these only (CI time).
SPLIT_AWARE = ["01_data", "03_cv_training", "04_confusion", "07_attention_listening",
               "08_recommendations", "09_explanations"]
SECONDS = 10.0


@pytest.fixture(scope="module")
def fault_filtered_run(tmp_path_factory):
    """The split-aware notebooks with split: fault-filtered on synthetic clips named after listed GTZAN
    tracks (per genre two of each list) plus one clip the lists leave out."""
    from paperlib.data.gtzan_splits import read_filtered_split
    from paperlib.publish.notebook_runner import run_notebooks

    if not METADATA.is_dir():
        pytest.skip(f"no local metadata mirror at {METADATA}")
    lists = read_filtered_split(METADATA)
    root = tmp_path_factory.mktemp("fault_filtered")
    with synthetic_source(root, seconds=SECONDS) as source:
        roles = {}
        for genre in GENRES:
            listed = [t for t in lists.index if t.startswith(genre + ".")]
            names = [t for role in ("train", "valid", "test")
                     for t in [t for t in listed if lists[t] == role][:2]]
            unlisted = [f"{genre}.{i:05d}" for i in range(100) if f"{genre}.{i:05d}" not in lists.index]
            if genre == "reggae":
                names = names[:5] + unlisted[:1]  # one faulty clip, left out by the split
            wavs = sorted((source / "genres_original" / genre).glob("*.wav"))
            for name, wav in zip(names, wavs):
                audio, rate = sf.read(wav, dtype="float32")
                path = root / "gtzan" / "genres" / genre / f"{name}.au"
                path.parent.mkdir(parents=True, exist_ok=True)
                sf.write(path, audio, rate, format="AU", subtype="PCM_16")
                roles[name] = lists.get(name, "unused")
        run_dir = root / "run"
        run_notebooks("smoke", {**RUN_PARAMS, "split": "fault-filtered", "ablation": True, "clip_seconds": SECONDS,
                                "metadata_url": METADATA.as_uri(),
                                "data_dir": str(root / "gtzan"), "run_dir": str(run_dir)},
                      only=SPLIT_AWARE, progress=False)
    return {"roles": roles, "metrics": open_existing_run(run_dir).results()}


@pytest.mark.slow
def test_fault_filtered_split_runs_the_split_aware_notebooks_on_the_test_clips(fault_filtered_run):
    roles, metrics = fault_filtered_run["roles"], fault_filtered_run["metrics"]
    assert set(metrics) == set(SPLIT_AWARE) and all(metrics[step].claims for step in metrics)
    assert metrics["01_data"].left_out_by_split == list(roles.values()).count("unused") == 1
    cv = metrics["03_cv_training"]
    assert cv.split == "fault-filtered" and cv.folds == 1
    assert cv.held_out_clips == list(roles.values()).count("test")
    assert 0 <= cv.oof_accuracy <= 1 and 0 <= cv.mfcc_logistic_accuracy <= 1
    verdict = next(c for c in cv.claims if "6-fold" in c.claim)
    assert "fault-filtered" in verdict.this_run and verdict.verdict == "does not hold"
    # 04 scores the same held-out (test) clips as 03, for all three classifiers
    confusion = metrics["04_confusion"]
    assert confusion.accuracy == pytest.approx(cv.oof_accuracy)
    assert confusion.mfcc_accuracy == pytest.approx(cv.mfcc_logistic_accuracy)
    assert confusion.mean_pool_accuracy == pytest.approx(cv.mean_pool_oof_accuracy)
    # 07 shows only test clips; 08 searches with test queries only
    assert {roles[t] for t in metrics["07_attention_listening"].examples} == {"test"}
    assert metrics["07_attention_listening"].first_occurrence_clips <= cv.held_out_clips
    assert set(metrics["08_recommendations"].precision_at_5) == {
        "attention signature", "mean-pooled embedding", "MFCC statistics"}
    # 09 explains the test clips, each by the model that held it out; real audio has no planted moment
    explained = metrics["09_explanations"]
    assert explained.clips == cv.held_out_clips and explained.recovery is None

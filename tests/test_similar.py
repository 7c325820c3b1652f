"""`paperlib similar` on a tiny run folder built here (an untrained final model and 20 pieces)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from paperlib.analysis.similar import SYNTHETIC_NOTICE, Similarity
from paperlib.cli import main
from paperlib.core.config import Config
from paperlib.core.run_folder import RunFolderError, open_existing_run, open_run
from paperlib.data.genres import GENRES
from tests.conftest import write_tone

CLIPS = 20


def tiny_config(run_dir):
    return Config(profile="tiny", conv_filters=(2, 2, 2), embedding_dim=4, attention_heads=1,
                       attention_key_dim=2, clips_per_genre=6, folds=2, run_dir=str(run_dir))


def build_run(path, **params):
    """A run folder with what `similar` reads: manifest, tracks.csv, final model and signatures."""
    from paperlib.core.registry import FINAL
    from paperlib.core.session import configure_environment
    from paperlib.model.network import build_model, save_model

    configure_environment()
    config = tiny_config(path).replace(**params)
    run = open_run(config)
    if config.dataset == "gtzan":
        run.bind_dataset("f" * 64, path.parent)
    labels = np.arange(CLIPS) % len(GENRES)
    run.save_table("tracks", pd.DataFrame({
        "track_id": [f"t{i:02d}" for i in range(CLIPS)], "genre": [GENRES[g] for g in labels],
        "label": labels, "path": [f"{GENRES[g]}/t{i:02d}.wav" for i, g in enumerate(labels)]}))
    save_model(build_model(config, n_classes=len(GENRES)), run.path_of("model", pooling="attention", fold=FINAL))
    rng = np.random.default_rng(0)
    run.save_arrays("final_outputs", dict(
        label=labels, genre=np.full((CLIPS, len(GENRES)), 0.1, np.float32),
        attention=np.full((CLIPS, config.n_tokens), 0.1, np.float32),
        signature=rng.random((CLIPS, config.embedding_dim)).astype(np.float32),
        token_embeddings=rng.random((CLIPS, config.n_tokens, config.embedding_dim))), pooling="attention")
    return path


@pytest.fixture(autouse=True)
def no_feature_table(tmp_path, monkeypatch):
    """No real-genre data: an empty project cache and pinned origins that hold nothing, so that no
    test here reaches the network (tests/test_real_genres.py answers real genres)."""
    from paperlib.data import download

    monkeypatch.setenv("GENRE_SIGNATURES_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(download, "FEATURES_URLS", ((tmp_path / "nowhere" / download.FEATURES_FILE).as_uri(),))


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return build_run(tmp_path_factory.mktemp("similar") / "run")


def test_open_existing_run_rebuilds_the_config(run_dir, tmp_path):
    run = open_existing_run(run_dir)
    assert run.config.key() == tiny_config(run_dir).key() and run.config.profile == "tiny"
    with pytest.raises(RunFolderError, match="No run folder"):
        open_existing_run(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunFolderError, match="no manifest.json"):
        open_existing_run(tmp_path / "empty")


def test_a_long_stereo_44k_file_gives_neighbours_genre_and_a_moment(run_dir, tmp_path):
    path = write_tone(tmp_path / "long.wav", seconds=45, sample_rate=44100, channels=2)
    result = Similarity(run_dir, k=3).analyse(path)
    assert result.neighbours["rank"].tolist() == [1, 2, 3]
    assert result.neighbours["track_id"].str.fullmatch(r"t\d\d").all()
    assert (np.diff(result.neighbours["distance"]) >= 0).all()
    assert result.predicted_genre in GENRES and 0 < result.probability <= 1
    assert result.file_seconds == pytest.approx(45, abs=0.01)
    assert result.offset_s == pytest.approx(7.5, abs=0.01)  # the centred 30 s of 45 s
    start, end = result.moment
    assert 0 <= start < end <= 45 and start >= result.offset_s
    assert end - start == pytest.approx(4, abs=0.1)


def test_a_short_file_is_padded_and_its_moment_stays_inside_it(run_dir, tmp_path):
    path = write_tone(tmp_path / "short.flac", seconds=6, sample_rate=16000)
    result = Similarity(run_dir).analyse(path)
    assert result.offset_s == 0 and len(result.neighbours) == 5
    assert 0 <= result.moment[0] <= result.moment[1] <= 6 + 1e-6
    assert "padded with silence" in result.report()


def test_the_command_prints_a_table(run_dir, tmp_path, capsys):
    path = write_tone(tmp_path / "clip.wav", seconds=30)
    assert main(["similar", str(path), "--run", str(run_dir), "--k", "4"]) == 0
    out = capsys.readouterr().out
    assert "predicted genre:" in out and "highest-attention moment:" in out
    rows = [line.split() for line in out.splitlines() if line.split()[:1] in (["1"], ["2"], ["3"], ["4"])]
    assert [r[0] for r in rows] == ["1", "2", "3", "4"] and all(r[1].startswith("t") for r in rows)
    assert "track_id" in out and "distance" in out


def error_of(capsys, *argv):
    code = main(["similar", *map(str, argv)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and err.startswith("error: ")
    return err


def test_missing_file(run_dir, tmp_path, capsys):
    err = error_of(capsys, tmp_path / "nope.wav", "--run", run_dir)
    assert "nope.wav does not exist" in err


def test_a_folder_instead_of_a_file(run_dir, tmp_path, capsys):
    err = error_of(capsys, tmp_path, "--run", run_dir)
    assert "is a folder" in err


def test_non_audio_file(run_dir, tmp_path, capsys):
    path = tmp_path / "notes.wav"
    path.write_text("not audio at all\n")
    err = error_of(capsys, path, "--run", run_dir)
    assert "Cannot decode" in err and "not audio" in err


def test_a_two_second_clip(run_dir, tmp_path, capsys):
    path = write_tone(tmp_path / "two.wav", seconds=2)
    err = error_of(capsys, path, "--run", run_dir)
    assert "2.00 s" in err and "minimum of 4 s" in err


def test_a_run_without_a_trained_model(tmp_path, capsys):
    open_run(tiny_config(tmp_path / "untrained"))
    path = write_tone(tmp_path / "clip.wav", seconds=5)
    err = error_of(capsys, path, "--run", tmp_path / "untrained")
    assert "no trained final model" in err and "run notebook 03_cv_training first" in err


def test_a_missing_run_folder(tmp_path, capsys):
    path = write_tone(tmp_path / "clip.wav", seconds=5)
    err = error_of(capsys, path, "--run", tmp_path / "nowhere")
    assert "No run folder" in err


def test_k_larger_than_the_run(run_dir, tmp_path, capsys):
    path = write_tone(tmp_path / "clip.wav", seconds=5)
    err = error_of(capsys, path, "--run", run_dir, "--k", CLIPS + 1)
    assert f"k={CLIPS + 1} is invalid" in err


def test_fold_mean_embeddings_average_each_models_token_embeddings(run_dir):
    from paperlib.analysis.recommendations import fold_mean_embeddings
    from paperlib.core.registry import FINAL
    from paperlib.data.features import cut_tokens
    from paperlib.model.network import explain, load_model

    config = open_existing_run(run_dir).config
    images = np.random.default_rng(1).integers(0, 256, (3, config.n_mels, config.n_frames), np.uint8)
    tokens = cut_tokens(images, config)
    model_path = open_existing_run(run_dir).path_of("model", pooling="attention", fold=FINAL)
    means = fold_mean_embeddings([model_path, model_path], tokens)
    expected = explain(load_model(model_path), tokens)["token_embeddings"].mean(axis=1)
    assert means.shape == (2, 3, config.embedding_dim)
    assert np.allclose(means[0], expected, atol=1e-6) and np.allclose(means[1], expected, atol=1e-6)


def test_every_genre_probability_and_the_synthetic_notice_first(run_dir, tmp_path, capsys):
    path = write_tone(tmp_path / "clip.wav", seconds=8)
    assert main(["similar", str(path), "--run", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == SYNTHETIC_NOTICE
    line = next(x for x in out.splitlines() if x.startswith("genre probabilities:"))
    assert all(g in line for g in GENRES)


def test_a_gtzan_run_says_nothing_about_synthetic_genres(tmp_path, capsys):
    run = build_run(tmp_path / "gtzan-run", dataset="gtzan", data_dir=str(tmp_path))
    path = write_tone(tmp_path / "clip.wav", seconds=8)
    assert main(["similar", str(path), "--run", str(run), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["notice"] is None


def test_a_folder_answers_its_good_files_and_names_the_bad(run_dir, tmp_path, capsys):
    folder = tmp_path / "music"
    write_tone(folder / "a.wav", seconds=6)
    write_tone(folder / "sub" / "b.flac", seconds=6, sample_rate=16000)
    (folder / "broken.mp3").write_bytes(b"ID3 not really")
    (folder / "notes.txt").write_text("not audio, not an audio suffix: not tried")
    assert main(["similar", str(folder), "--run", str(run_dir), "--json"]) == 0
    captured = capsys.readouterr()
    found = json.loads(captured.out)
    assert [Path(r["file"]).name for r in found["results"]] == ["a.wav", "b.flac"]
    assert list(found["skipped"]) == [str(folder / "broken.mp3")] and "broken.mp3" in captured.err
    for result in found["results"]:
        assert sorted(result["probabilities"]) == sorted(GENRES)
        assert sum(result["probabilities"].values()) == pytest.approx(1, abs=1e-4)


@pytest.mark.parametrize("fmt,subtype,suffix", [("OGG", "VORBIS", "ogg"), ("MP3", "MPEG_LAYER_III", "mp3")])
def test_whole_analyses_a_long_stereo_track_window_by_window(run_dir, tmp_path, capsys, fmt, subtype, suffix):
    import soundfile as sf

    t = np.arange(75 * 22050) / 22050
    path = tmp_path / f"song.{suffix}"
    sf.write(path, np.stack([0.3 * np.sin(2 * np.pi * 330 * t)] * 2, axis=1), 22050, format=fmt, subtype=subtype)
    assert main(["similar", str(path), "--run", str(run_dir), "--whole", "--json", "--k", "3"]) == 0
    [result] = json.loads(capsys.readouterr().out)["results"]
    assert [round(a) for a, _ in result["windows"]] == [0, 30, 60]
    assert result["windows"][-1][1] == pytest.approx(75, abs=0.2)
    assert sum(result["votes"].values()) == 3 and len(result["nearest"]) == 3
    start, end = result["highest_attention_moment"]
    assert 0 <= start < end <= result["file_seconds"] + 1e-6
    assert result["predicted_genre"] == max(result["probabilities"], key=result["probabilities"].get)


def test_windows_cover_the_track_and_keep_a_last_part_of_one_token():
    from paperlib.analysis.similar import windows_of

    config = tiny_config("x")
    clip, rate = config.clip_samples, config.sample_rate
    assert windows_of(clip * 2 + 5 * rate, config) == [(0, clip), (clip, 2 * clip), (2 * clip, 2 * clip + 5 * rate)]
    assert windows_of(clip * 2 + 2 * rate, config) == [(0, clip), (clip, 2 * clip)]  # 2 s left: dropped
    assert windows_of(3 * rate, config) == [(0, 3 * rate)]

import pytest

from paperlib.data.dataset import DatasetError
from paperlib.data.layout import find_genre_root, scan_tracks
from tests.conftest import write_tone


def _make(root, layout, genres=("blues", "jazz"), n=2, suffix=".wav"):
    for g in genres:
        for i in range(n):
            write_tone(root / layout / g / f"{g}.{i:05d}{suffix}", seconds=0.5)
    return root


@pytest.mark.parametrize("layout, suffix", [("genres", ".au"), ("Data/genres_original", ".wav")])
def test_both_layouts_are_found_from_any_parent(tmp_path, layout, suffix):
    _make(tmp_path / "gtzan", layout, suffix=suffix)
    for start in (tmp_path, tmp_path / "gtzan", tmp_path / "gtzan" / layout):
        root, tracks = scan_tracks(start)
        assert root == tmp_path / "gtzan" / layout
        assert len(tracks) == 4 and set(tracks["genre"]) == {"blues", "jazz"}
        assert tracks.iloc[0]["path"] == f"blues/blues.00000{suffix}"


def test_missing_folder(tmp_path):
    with pytest.raises(DatasetError, match="does not exist.*data_dir"):
        find_genre_root(tmp_path / "nowhere")


def test_folder_without_genres(tmp_path):
    (tmp_path / "music" / "misc").mkdir(parents=True)
    with pytest.raises(DatasetError, match="No genre folders found"):
        find_genre_root(tmp_path / "music")


def test_unknown_genre_folder_is_named(tmp_path):
    _make(tmp_path, "genres")
    (tmp_path / "genres" / "polka").mkdir()
    with pytest.raises(DatasetError, match=r"Unknown genre folder\(s\) \['polka'\]"):
        scan_tracks(tmp_path)


def test_empty_genre_folder_is_named(tmp_path):
    _make(tmp_path, "genres")
    (tmp_path / "genres" / "rock").mkdir()
    with pytest.raises(DatasetError, match="rock holds no audio"):
        scan_tracks(tmp_path)

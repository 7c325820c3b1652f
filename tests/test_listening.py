import io

import numpy as np
import pytest
import soundfile as sf

from paperlib.analysis.listening import excerpt, mp3_bytes, player


def test_excerpt_clips_to_the_audio():
    audio = np.arange(10 * 100, dtype=np.float32)
    out = excerpt(audio, 100, 1.0, 2.0, context_s=0.5)
    assert len(out) == 200 and out[0] == 50
    assert len(excerpt(audio, 100, 9.5, 10.0, context_s=2.0)) == 250
    with pytest.raises(ValueError, match="end_s > start_s"):
        excerpt(audio, 100, 2.0, 1.0)


def test_players_are_small_mp3s_that_decode():
    t = np.arange(22050 * 4) / 22050
    data = mp3_bytes((0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 22050)
    decoded, rate = sf.read(io.BytesIO(data))
    assert rate == 16000 and abs(len(decoded) - 4 * 16000) < 2000
    assert len(data) < 4 * 16000 * 2 / 4  # far smaller than 16-bit PCM
    widget = player(np.zeros(22050, np.float32), 22050)
    assert widget.mimetype == "audio/mpeg" and "audio/mpeg" in widget._repr_html_()

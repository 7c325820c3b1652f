"""The dose-response of attention against mean pooling: one run's comparison from its saved
outputs, the table per setting (intervals over seeds, McNemar over every seed's clips), the claims
per setting and the book page."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlib.analysis.dose_response import PoolingComparison, compare_poolings
from paperlib.claims.dose_response import (
    difficulty_axis,
    dose_response_table,
    pooling_claims,
    where_it_holds,
)
from paperlib.core.config import Config
from paperlib.core.run_folder import open_run


def comparison(decoys: int, seed: int, *, attention: float = 0.9, mean: float = 0.8, b: int = 10,
               c: int = 2, recovery: float = 0.7) -> PoolingComparison:
    return PoolingComparison(seed=seed, setting={"decoys": decoys, "motif_db": 8.0, "clips_per_genre": 25},
                             clips=250, attention_accuracy=attention, mean_accuracy=mean,
                             attention_only=b, mean_only=c, p_value=0.04, recovery=recovery, chance=0.13)


def test_a_run_compares_its_poolings_on_its_held_out_clips(tmp_path):
    config = Config(run_dir=str(tmp_path / "run"), ablation=True, decoys=2)
    run = open_run(config)
    labels = np.array([0, 1, 2, 0, 1, 2])
    probs = np.eye(3)[[0, 1, 2, 0, 1, 1]]  # attention: one wrong (the last)
    mean_probs = np.eye(3)[[0, 1, 0, 1, 1, 2]]  # mean pooling: two wrong, the last right
    attention = np.tile([0.7, 0.1, 0.1, 0.1], (6, 1))  # peak on token 0
    fold = np.array([0, 0, 0, 1, 1, 1])
    run.save_arrays("oof", {"genre": probs, "label": labels, "fold": fold, "attention": attention},
                    pooling="attention")
    run.save_arrays("oof", {"genre": mean_probs, "label": labels, "fold": fold,
                            "attention": np.full((6, 4), 0.25)}, pooling="mean")
    run.save_table("tracks", pd.DataFrame({
        "track_id": [f"t{i}" for i in range(6)], "genre": ["a", "b", "c"] * 2, "label": labels,
        "path": [f"t{i}.wav" for i in range(6)],
        "motif_tokens": ["0", "0", "1", "0", "1;2", "0"]}))
    found = compare_poolings(run)
    assert (found.attention_accuracy, found.mean_accuracy) == (5 / 6, 4 / 6)
    assert (found.attention_only, found.mean_only) == (2, 1)
    assert found.setting["decoys"] == 2 and found.clips == 6
    assert found.recovery == pytest.approx(3 / 5)  # of the 5 correct clips, 3 hold the moment at token 0


def test_a_run_without_the_ablation_is_refused_with_what_to_do(tmp_path):
    run = open_run(Config(run_dir=str(tmp_path / "run"), ablation=False))
    with pytest.raises(ValueError, match="ablation=true"):
        compare_poolings(run)


def test_the_table_pools_mcnemar_over_seeds_and_names_where_attention_wins():
    comparisons = [comparison(0, s, b=3, c=3, attention=0.99, mean=0.99) for s in (1, 2, 3)]
    comparisons += [comparison(2, s, b=9, c=1, attention=0.95, mean=0.9) for s in (1, 2, 3)]
    assert difficulty_axis(comparisons) == "decoys"
    table = dose_response_table(comparisons, "decoys")
    assert list(table.index) == [0, 2]
    assert table.loc[0, "verdict"] == "no difference" and table.loc[0, "mcnemar_p"] == 1.0
    assert (table.loc[2, "attention_only"], table.loc[2, "mean_only"]) == (27, 3)
    assert table.loc[2, "verdict"] == "attention ahead"
    assert table.loc[2, "difference"] == pytest.approx(0.05)
    claims = pooling_claims(table)
    assert [c.verdict for c in claims] == ["does not hold", "holds"]
    assert "decoys = 2, not at 0" in where_it_holds(table)


def test_without_two_settings_there_is_no_axis():
    assert difficulty_axis([comparison(1, s) for s in (1, 2)]) is None
    with pytest.raises(ValueError, match="not a difficulty axis"):
        dose_response_table([comparison(1, 1)], "seed")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 40), st.integers(0, 40)), min_size=1, max_size=12))
def test_swapping_the_poolings_swaps_the_verdicts(rows):
    forward = [comparison(d, i, b=b, c=c) for i, (d, b, c) in enumerate(rows)]
    backward = [comparison(d, i, b=c, c=b, attention=0.8, mean=0.9) for i, (d, b, c) in enumerate(rows)]
    swap = {"attention ahead": "mean pooling ahead", "mean pooling ahead": "attention ahead",
            "no difference": "no difference"}
    a, b = dose_response_table(forward, "decoys"), dose_response_table(backward, "decoys")
    assert [swap[v] for v in a["verdict"]] == list(b["verdict"])
    assert np.allclose(a["mcnemar_p"], b["mcnemar_p"])
    assert a["seeds"].sum() == len(rows)


def test_the_page_without_a_sweep_says_how_to_make_one():
    from paperlib.core.config import load_profile
    from paperlib.core.overrides import parse_sets
    from paperlib.publish.dose_response_page import command, no_dose_page

    page = no_dose_page("smoke", "synthetic", "/tmp/my-run")
    assert command("smoke", "synthetic", "/tmp/my-run") in page and "dataset `synthetic`" in page
    assert "--profile smoke" in page and "book --run /tmp/my-run" in page
    for profile, dataset in (("smoke", "synthetic"), ("default", "synthetic"), ("paper", "gtzan")):
        sweep = command(profile, dataset, "runs/x").splitlines()[0].split()
        named = sweep[sweep.index("--profile") + 1]
        sets = parse_sets([sweep[i + 1] for i, word in enumerate(sweep) if word == "--set"], several=True)
        member = load_profile(named, **{k: v[0] for k, v in sets.items()})  # what every member runs
        assert member.ablation and member.dataset == "synthetic", profile


def test_the_page_shows_the_table_the_figure_and_the_sentence(tmp_path, monkeypatch):
    from paperlib.core.sweep_record import MemberRecord, SweepFolder, SweepRecord
    from paperlib.publish import dose_response_page

    members = [MemberRecord(name=f"m{i}", overrides={}, config_key="k", status="done") for i in range(6)]
    record = SweepRecord(name="sweep-dose", profile="default", axes={"seed": [1, 2, 3], "decoys": [0, 2]},
                         members=members, updated="2026-12-04T00:00:00+00:00")
    comparisons = [comparison(d, s, b=9 if d else 2, c=1 if d else 2) for d in (0, 2) for s in (1, 2, 3)]
    monkeypatch.setattr(dose_response_page, "sweep_comparisons", lambda record, folder: (comparisons, []))
    page, (sentence, claims) = dose_response_page.dose_response_page(record, SweepFolder(tmp_path), tmp_path)
    assert (tmp_path / dose_response_page.FIGURE).is_file()
    assert sentence in page and "| 2 | 3 |" in page and len(claims) == 2
    assert dose_response_page.has_difficulty_axis(record)


def test_runs_that_vary_two_difficulty_axes_are_refused_and_the_page_says_why(tmp_path, monkeypatch):
    from dataclasses import replace

    from paperlib.core.sweep_record import MemberRecord, SweepFolder, SweepRecord
    from paperlib.publish import dose_response_page

    mixed = [comparison(0, 1), replace(comparison(2, 1), setting={"decoys": 2, "motif_db": 4.0,
                                                                   "clips_per_genre": 25})]
    with pytest.raises(ValueError, match="vary decoys and motif_db.*one difficulty axis at a time"):
        difficulty_axis(mixed)
    record = SweepRecord(name="two", profile="default", axes={"decoys": [0, 2], "motif_db": [8.0, 4.0]},
                         members=[MemberRecord(name="m", overrides={}, config_key="k", status="done")],
                         updated="2026-12-04T00:00:00+00:00")
    monkeypatch.setattr(dose_response_page, "sweep_comparisons", lambda record, folder: (mixed, []))
    page, dose = dose_response_page.dose_response_page(record, SweepFolder(tmp_path), tmp_path)
    assert dose is None and "one difficulty axis at a time" in page
    assert not (tmp_path / dose_response_page.FIGURE).exists()


def test_a_run_s_book_takes_the_dose_sweep_of_its_own_profile_first(tmp_path, monkeypatch):
    from paperlib.core import paths
    from paperlib.core.sweep_record import MemberRecord, SweepFolder, SweepRecord
    from paperlib.publish import dose_response_page

    monkeypatch.setattr(paths, "runs_dir", lambda: tmp_path)
    for name, profile, updated in (("dose-smoke", "smoke", "2026-12-05"), ("dose-default", "default", "2026-12-04")):
        folder = SweepFolder(tmp_path / name)
        folder.path.mkdir()
        folder.write(SweepRecord(name=name, profile=profile, axes={"seed": [1, 2], "decoys": [0, 2]},
                                 members=[MemberRecord(name="m", overrides={}, config_key="k", status="done")],
                                 updated=f"{updated}T00:00:00+00:00"))
    assert dose_response_page.dose_sweep("default").path.name == "dose-default"
    assert dose_response_page.dose_sweep("smoke").path.name == "dose-smoke"
    assert dose_response_page.dose_sweep("paper").path.name == "dose-smoke"  # none of its own: the newest

"""The Jupyter Book of a run: built from the smoke run's executed notebooks, checked in its HTML.

Set GENRE_SIGNATURES_BOOK_RUN=runs/smoke-dev (any finished run) to check the book of that run
instead of executing the notebooks on the smoke profile."""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import pytest

from paperlib.claims.real_gtzan import paired_claim
from paperlib.cli import main
from paperlib.core import paths
from paperlib.core.registry import artifact
from paperlib.core.results import RealGtzanResult
from paperlib.core.run_folder import RunFolderError, open_existing_run
from paperlib.publish.book import build_book
from paperlib.publish.markdown import md_escape
from paperlib.publish.notebook_runner import notebook_names
from paperlib.publish.run_reader import read_run

PAGES = ("intro", "paper", "reproduce", "claims", "splits", "across_seeds", "references")
REPOSITORY = "https://github.com/genre-signatures/genre-signatures"
AUDIO = re.compile(r'<audio[^>]*>\s*<source src="data:audio/mpeg;base64,([A-Za-z0-9+/=]*)"')


def text_of(fragment: str) -> str:
    """Visible text of an HTML fragment, entities decoded, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def image_outputs(notebook: Path) -> int:
    cells = json.loads(notebook.read_text())["cells"]
    return sum(any(k.startswith("image/") for k in out.get("data", {}))
               for cell in cells for out in cell.get("outputs", []))


def audio_players(notebook: Path) -> int:
    cells = json.loads(notebook.read_text())["cells"]
    return sum(len(AUDIO.findall("".join(out.get("data", {}).get("text/html", ""))))
               for cell in cells for out in cell.get("outputs", []))


@pytest.mark.slow
def test_every_page_is_built(book):
    site = book
    for page in PAGES:
        assert (site / f"{page}.html").is_file(), page
    for name in notebook_names():
        assert (site / "notebooks" / f"{name}.html").is_file(), name
    assert (site / "index.html").is_file()


@pytest.mark.slow
def test_notebook_pages_show_their_figures(book, book_run):
    site = book
    with_figures = 0
    for name in notebook_names():
        page = (site / "notebooks" / f"{name}.html").read_text()
        figures = len(re.findall(r'<img[^>]+src="\.\./_images/', page))
        expected = image_outputs(book_run / artifact("executed_notebook").relative(notebook=name))
        assert figures >= expected, f"{name}: {figures} figures in the HTML, {expected} in the notebook"
        with_figures += figures > 0
    unmeasured = open_existing_run(book_run).result(RealGtzanResult.step).clips is None  # no table
    assert with_figures == len(notebook_names()) - unmeasured, "every notebook page shows a figure"


@pytest.mark.slow
def test_players_survive_with_their_audio(book, book_run):
    site = book
    for name in ("07_attention_listening", "08_recommendations"):
        page = (site / "notebooks" / f"{name}.html").read_text()
        sources = AUDIO.findall(page)
        assert sources, f"{name}: no <audio> element with MP3 data"
        assert all(len(s) > 1000 for s in sources), f"{name}: an <audio> element with no sound"
        assert len(sources) == audio_players(book_run / artifact("executed_notebook").relative(notebook=name))


@pytest.mark.slow
def test_claims_page_lists_every_recorded_verdict(book, book_run):
    site = book
    page = (site / "claims.html").read_text()
    rows = [text_of(r) for r in re.findall(r"<tr.*?</tr>", page, flags=re.S)]
    results = open_existing_run(book_run).results()
    total = {"holds": 0, "does not hold": 0, "not testable here": 0}
    for name in notebook_names():
        claims = results[name].claims
        assert claims, f"{name} recorded no claims"
        for claim in claims:
            cells = [claim.section, claim.claim, claim.paper, claim.this_run, claim.verdict]
            expected = " ".join(" ".join(str(c).split()) for c in cells)
            assert any(row == expected or row.startswith(expected + " ") for row in rows), \
                f"{name}: claim {claim.claim!r} missing from the claims page"
            total[claim.verdict] += 1
    summary = (f"{sum(total.values())} claims: {total['holds']} hold, {total['does not hold']} do "
               f"not hold, {total['not testable here']} not testable here")
    assert summary in text_of(page)


@pytest.mark.slow
def test_claims_page_puts_the_real_gtzan_verdicts_beside_this_runs(book, book_run):
    site = book
    content = text_of((site / "claims.html").read_text())
    results = open_existing_run(book_run).results()
    real = results[RealGtzanResult.step]
    assert "real GTZAN statistics" in content and "come from real GTZAN" in content
    paired = [c for step in ("04_confusion", "05_pca", "06_equations") for c in results[step].claims if c.key]
    assert paired
    for claim in paired:
        measured, verdict = paired_claim(real, claim.key)
        assert f"{' '.join(measured.split())}: {verdict}" in content
    if real.leakage_drop is not None:
        notebook = text_of((site / "notebooks" / f"{RealGtzanResult.step}.html").read_text())
        assert f"{100 * real.leakage_drop:.1f} points lost to artist leakage" in notebook


@pytest.mark.slow
def test_splits_page_shows_this_runs_folds(book, book_run):
    site = book
    content = text_of((site / "splits.html").read_text())
    assert "Random vs artist-grouped folds" in content and "Sturm" in content
    cv = open_existing_run(book_run).result("03_cv_training")
    assert f"out-of-fold accuracy {cv.oof_accuracy:.3f}" in content
    if json.loads((book_run / artifact("manifest").relative()).read_text())["config"]["dataset"] != "gtzan":
        assert "artist-grouped folds apply to GTZAN only" in content


@pytest.mark.slow
def test_across_seeds_page_without_a_sweep_says_how_to_make_one(book):
    site = book
    content = text_of((site / "across_seeds.html").read_text())
    assert "parameters exists yet" in content and "paperlib sweep --profile" in content
    assert 'href="across_seeds.html"' in (site / "claims.html").read_text()


@pytest.mark.slow
def test_no_error_output_anywhere(book):
    site = book
    for page in site.rglob("*.html"):
        content = page.read_text()
        assert "Traceback" not in content, page
        assert not re.search(r'class="[^"]*\b(traceback|output error|stderr)\b', content), page


@pytest.mark.slow
def test_pages_carry_the_runs_provenance(book, book_run):
    site = book
    manifest = json.loads((book_run / artifact("manifest").relative()).read_text())
    fingerprint = manifest["dataset_fingerprint"][:12]
    for name in notebook_names():
        page = (site / "notebooks" / f"{name}.html").read_text()
        content = text_of(page)
        assert "Provenance of this page" in content
        assert fingerprint in content
        assert manifest["steps"][name]["git_commit"] in content  # the commit that made this step
        assert f'href="{REPOSITORY}/blob/main/notebooks/{name}.ipynb"' in page
        binder = "mybinder.org/v2/gh/genre-signatures/genre-signatures/main?urlpath=lab/tree"
        assert f"{binder}/notebooks/{name}.ipynb" in page
    intro = text_of((site / "intro.html").read_text())
    assert f"profile {manifest['profile']}" in intro and fingerprint in intro
    assert manifest["config"]["dataset"] in intro


@pytest.fixture
def run_copy(book_run, tmp_path):
    """The files of a run that the book reads, copied so that a test may spoil them."""
    copy = tmp_path / "run"
    notebooks = artifact("executed_notebook").relative(notebook="x").parent
    shutil.copytree(book_run / notebooks, copy / notebooks)
    for name in ("manifest", "metrics"):
        shutil.copy2(book_run / artifact(name).relative(), copy / artifact(name).relative())
    return copy


def _set_parameters(notebook: Path, **changes) -> None:
    data = json.loads(notebook.read_text())
    data["metadata"]["papermill"]["parameters"].update(changes)
    notebook.write_text(json.dumps(data))


@pytest.mark.slow
def test_mixed_runs_are_refused(run_copy):
    read_run(run_copy)  # the untouched copy is accepted
    odd = run_copy / artifact("executed_notebook").relative(notebook="05_pca")
    params = json.loads(odd.read_text())["metadata"]["papermill"]["parameters"]
    _set_parameters(odd, overrides={**params["overrides"], "seed": 7})
    with pytest.raises(ValueError, match=r"mixed runs: 05_pca executed with other parameters"):
        build_book(run_copy, build_dir=run_copy.parent / "build")


@pytest.mark.slow
def test_a_notebook_run_with_a_mirror_belongs_to_the_run(run_copy):
    """Where data came from (a mirror URL, a data folder) does not make another run."""
    odd = run_copy / artifact("executed_notebook").relative(notebook="05_pca")
    params = json.loads(odd.read_text())["metadata"]["papermill"]["parameters"]
    _set_parameters(odd, overrides={**params["overrides"], "features_url": "file:///elsewhere/"})
    read_run(run_copy)


@pytest.mark.slow
def test_notebooks_of_another_run_are_refused(run_copy):
    for notebook in (run_copy / artifact("executed_notebook").relative(notebook="x").parent).glob("*.ipynb"):
        _set_parameters(notebook, profile="default", overrides={})
    with pytest.raises(ValueError, match="profile 'default' but the run's manifest records"):
        read_run(run_copy)


@pytest.mark.slow
def test_a_run_from_before_a_new_parameter_is_read_and_other_parameters_refused(run_copy):
    manifest = json.loads((run_copy / artifact("manifest").relative()).read_text())
    del manifest["config"]["source"]  # as written before the code had `source`
    manifest["config_key"] = "older"
    (run_copy / artifact("manifest").relative()).write_text(json.dumps(manifest))
    read_run(run_copy)
    for notebook in (run_copy / artifact("executed_notebook").relative(notebook="x").parent).glob("*.ipynb"):
        params = json.loads(notebook.read_text())["metadata"]["papermill"]["parameters"]
        _set_parameters(notebook, overrides={**params["overrides"], "seed": 7})
    with pytest.raises(ValueError, match="belong to another run"):
        read_run(run_copy)


@pytest.mark.slow
def test_missing_notebooks_and_manifest_are_named(run_copy, capsys):
    (run_copy / artifact("manifest").relative()).unlink()
    with pytest.raises(RunFolderError, match="no manifest.json, so it is not a run folder"):
        read_run(run_copy)
    (run_copy / artifact("executed_notebook").relative(notebook="06_equations")).unlink()
    (run_copy / artifact("executed_notebook").relative(notebook="08_recommendations")).unlink()
    assert main(["book", "--run", str(run_copy)]) == 2
    err = capsys.readouterr().err
    assert "06_equations, 08_recommendations" in err
    assert "paperlib reproduce --profile" in err and "--notebooks 06_equations,08_recommendations" in err


def test_markdown_cells_are_escaped():
    assert md_escape("p < 0.05 | $x$ *a*\nb") == r"p \< 0.05 \| \$x\$ \*a\* b"


def test_the_repository_is_named_in_one_place():
    book = paths.project_root() / "book"
    holders = [p.name for p in sorted(book.iterdir()) if p.is_file() and REPOSITORY in p.read_text()]
    assert holders == ["_config.yml"]
    assert REPOSITORY not in (paths.project_root() / "paperlib" / "publish" / "book.py").read_text()


def test_the_book_shows_the_parameters_a_notebook_ran_with_once():
    from paperlib.publish.book import shown_cells

    cells = [{"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": "profile = 'default'"},
             {"cell_type": "code", "metadata": {"tags": ["injected-parameters"]}, "source": "profile = 'smoke'"},
             {"cell_type": "code", "metadata": {}, "source": "setup()"}]
    assert [c["source"] for c in shown_cells(cells)] == ["profile = 'smoke'", "setup()"]
    assert shown_cells(cells[::2]) == cells[::2]  # never executed by papermill: nothing to drop


def test_the_book_drops_progress_bar_widgets_their_state_and_lab_only_outputs():
    from paperlib.publish.book import LAB_ONLY, WIDGET_VIEW, for_the_page

    bar = {"output_type": "display_data", "data": {WIDGET_VIEW: {"model_id": "x"}, "text/plain": "0%|"}}
    text = {"output_type": "stream", "name": "stdout", "text": "done\n"}
    figure = {"output_type": "display_data", "data": {LAB_ONLY[0]: {"data": []}, "text/html": "<div>"}}
    notebook = {"metadata": {"widgets": {"state": {}}, "kernelspec": {}},
                "cells": [{"cell_type": "code", "outputs": [bar, text, figure]}, {"cell_type": "markdown"}]}
    shown = for_the_page(notebook)
    assert shown["metadata"] == {"kernelspec": {}}
    assert shown["cells"][0]["outputs"] == [text, {"output_type": "display_data", "data": {"text/html": "<div>"}}]
    assert shown["cells"][1] == {"cell_type": "markdown"}

"""The Jupyter Book of one run: its executed notebooks with their provenance, a claims page generated
from its metrics, and the static pages of `book/`, built to HTML offline (notebooks not executed).

`build_book(run_dir)` copies `book/` into a build folder (`book/_generated/` by default), adds the
run's executed notebooks (each with a provenance cell on top), `claims.md`, `splits.md`
(random vs artist-grouped folds, `splits_page`) and `across_seeds.md` (a sweep's verdicts,
`across_seeds_page`), writes the
run's provenance into the introduction, runs `jupyter-book build` and returns the `index.html`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from paperlib.claims.real_gtzan import paired_claim
from paperlib.core import paths
from paperlib.core.results import VERDICTS, Claim, RealGtzanResult
from paperlib.core.run_folder import read_json_file
from paperlib.core.sweep_record import SweepFolder
from paperlib.publish import across_seeds_page, dose_response_page
from paperlib.publish.markdown import md_escape
from paperlib.publish.run_reader import assignment, read_run
from paperlib.publish.split_comparison import compare_splits
from paperlib.publish.splits_page import PAGE, split_page

STATIC_FILES = ("_config.yml", "_toc.yml", "intro.md", "paper.md", "reproduce.md", "references.md",
                "_static/layout.css")
PROVENANCE_MARKER = "<!-- BOOK:PROVENANCE -->"
BUILD_MARK = ".genre-signatures-book"  # marks a folder this module may wipe and rebuild


def book_source_dir() -> Path:
    """The static pages and configuration of the book (`book/` in the repository)."""
    return paths.project_root() / "book"


def default_build_dir() -> Path:
    """Where the generated book goes unless told otherwise (git-ignored)."""
    return book_source_dir() / "_generated"


# --- generated text ------------------------------------------------------------------------


def provenance_facts(run: dict[str, Any]) -> dict[str, str]:
    """Label -> value (Markdown) of where a run's numbers come from."""
    manifest, params = run["manifest"], run["parameters"]
    config = manifest.get("config", {})
    overrides = ", ".join(f"`{assignment(k, v)}`" for k, v in sorted(params["overrides"].items()))
    dataset = config.get("dataset", "?")
    if dataset == "gtzan" and manifest.get("dataset_root"):
        dataset += f" (from `{manifest['dataset_root']}`)"
    packages = ", ".join(f"{k} {v}" for k, v in sorted(manifest.get("packages", {}).items()))
    return {
        "run": f"`{run['run_dir'].name}`",
        "profile": f"`{params['profile']}`" + (f", overrides {overrides}" if overrides else ""),
        "dataset": f"{dataset}, fingerprint `{str(manifest.get('dataset_fingerprint', '?'))[:12]}`",
        "configuration": f"`{manifest.get('config_key', '?')}` (seed {config.get('seed', '?')}, "
                         f"{config.get('folds', '?')} folds, {config.get('epochs', '?')} epochs)",
        "git commit": commits_text(manifest),
        "run updated": str(manifest.get("updated", "?")),
        "packages": packages or "?",
    }


def repository(config_path: Path) -> tuple[str, str]:
    """(url, branch) of the repository named in the book's `_config.yml`."""
    repo = (yaml.safe_load(config_path.read_text()) or {}).get("repository") or {}
    if not repo.get("url"):
        raise ValueError(f"{config_path} names no repository.url; expected the project's GitHub URL.")
    return str(repo["url"]).rstrip("/"), str(repo.get("branch") or "main")


def provenance_cell_text(name: str, facts: dict[str, str], *, repo_url: str, branch: str) -> str:
    """The Markdown cell put on top of each executed notebook in the book."""
    source = f"{repo_url}/blob/{branch}/notebooks/{name}.ipynb"
    lines = [f"* **{label}**: {value}" for label, value in facts.items()]
    return "\n".join([
        "```{admonition} Provenance of this page",
        ":class: note",
        f"The executed copy of [`notebooks/{name}.ipynb`]({source}) from the run described below; "
        "the outputs are the run's, not re-computed for this book.",
        "",
        *lines,
        "```",
    ])


def count_verdicts(claims: list[Claim]) -> Counter:
    """How many claims have each verdict (every verdict counted, zeros included)."""
    counts = Counter({v: 0 for v in VERDICTS})
    counts.update(claim.verdict for claim in claims)
    return counts


def commits_text(manifest: dict[str, Any]) -> str:
    """The git commit(s) of the code that made each step (Markdown)."""
    steps = manifest.get("steps") or {}
    by_commit: dict[str, list[str]] = {}
    for step, info in sorted(steps.items()):
        by_commit.setdefault(str(info.get("git_commit", "?")), []).append(step)
    if len(by_commit) == 1:
        return f"`{next(iter(by_commit))}`"
    return "; ".join(f"`{commit}` ({', '.join(s)})" for commit, s in by_commit.items()) or "?"


def claims_page(run: dict[str, Any], titles: dict[str, str],
                dose: tuple[str, list[Claim]] | None = None) -> str:
    """`claims.md`: every 'paper vs this run' claim of metrics.json, in tables per notebook; with
    `dose` (a sentence and one claim per setting of a dose-response sweep), the setting-by-setting
    verdicts of "attention beats mean pooling"."""
    per_step = {n: run["results"][n].claims for n in run["notebooks"]}
    counts = {n: count_verdicts(c) for n, c in per_step.items()}
    total = sum(counts.values(), Counter({v: 0 for v in VERDICTS}))
    facts = provenance_facts(run)
    real = run["results"].get(RealGtzanResult.step)
    out = ["# Paper vs this run", "",
           "Every claim of the paper that the notebooks test, with what this run measured and the "
           "verdict computed from it. This page is generated from the run's `metrics.json` "
           f"(run {facts['run']}, profile {facts['profile']}, dataset {facts['dataset']}). How "
           "often each verdict holds with other seeds: [across seeds](across_seeds.md).", "",
           verdict_sources(run["manifest"].get("config", {}).get("dataset", "?"),
                           titles.get(RealGtzanResult.step) if real is not None else None), "",
           f"**{sum(total.values())} claims: {total['holds']} hold, {total['does not hold']} do not "
           f"hold, {total['not testable here']} not testable here.**", "",
           "| notebook | claims | holds | does not hold | not testable here |",
           "|---|---:|---:|---:|---:|"]
    for name, c in counts.items():
        out.append(f"| [{md_escape(titles[name])}](notebooks/{name}.ipynb) | {sum(c.values())} | "
                   f"{c['holds']} | {c['does not hold']} | {c['not testable here']} |")
    out.append(f"| **all** | **{sum(total.values())}** | **{total['holds']}** | "
               f"**{total['does not hold']}** | **{total['not testable here']}** |")
    for name, claims in per_step.items():
        c = counts[name]
        out += ["", f"## {md_escape(titles[name])}", "",
                f"[Open the notebook](notebooks/{name}.ipynb). {c['holds']} hold, "
                f"{c['does not hold']} do not hold, {c['not testable here']} not testable here.", ""]
        if not claims:
            out.append("This notebook recorded no claims.")
            continue
        paired = name != RealGtzanResult.step and any(c.key for c in claims) and real is not None
        out += ["| section | claim | paper | this run | verdict |" + (" real GTZAN statistics |" if paired else ""),
                "|---|---|---|---|---|" + ("---|" if paired else "")]
        for claim in claims:
            cells = [claim.section, claim.claim, claim.paper, claim.this_run]
            row = "| " + " | ".join(md_escape(x) for x in cells) + f" | **{claim.verdict}** |"
            if paired:
                measured, verdict = paired_claim(real, claim.key)
                row += f" {md_escape(measured)}: **{verdict}** |" if verdict else " — |"
            out.append(row)
    if dose is not None:
        sentence, claims = dose
        out += ["", f"## {dose_response_page.TITLE}", "",
                f"Across a sweep of the synthetic data's difficulty ([the page](dose_response.md)): "
                f"{md_escape(sentence)}", "", "| section | claim | paper | the sweep | verdict |",
                "|---|---|---|---|---|"]
        out += ["| " + " | ".join(md_escape(x) for x in (c.section, c.claim, c.paper, c.this_run))
                + f" | **{c.verdict}** |" for c in claims]
    return "\n".join(out) + "\n"


def verdict_sources(dataset: str, real_title: str | None) -> str:
    """The claims page's plain statement of where its verdicts come from (`real_title`: the title
    of the real-GTZAN notebook, None when the run has none)."""
    own = ("**real GTZAN audio**" if dataset == "gtzan" else
           f"the **{dataset} genres** (invented: a verdict about how real genres relate reflects "
           "the generator's design, not music)")
    if real_title is None:
        return f"Every verdict here comes from this run's data: {own}."
    return (f"Every verdict here except those of *{md_escape(real_title)}* and of the column *real "
            f"GTZAN statistics* comes from this run's data: {own}. Those come from **real GTZAN**: Kaggle's "
            "feature table of librosa statistics of its 1000 clips, tested by the same rules (real "
            "clip statistics, not the paper's model); a dash marks a claim with no real-GTZAN "
            "counterpart, *not testable here* one the table has but cannot decide.")


def intro_provenance(run: dict[str, Any]) -> str:
    facts = provenance_facts(run)
    clips = getattr(run["results"].get("01_data"), "clips", None)
    total = sum((count_verdicts(run["results"][n].claims)
                 for n in run["notebooks"]), Counter())
    built = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    config, fingerprint = run["manifest"].get("config", {}), run["manifest"].get("dataset_fingerprint")
    head = (f"This build shows run {facts['run']}: profile {facts['profile']}, on the "
            f"**{config.get('dataset', '?')}** dataset (fingerprint `{str(fingerprint)[:12]}`"
            + (f", {clips} clips" if clips is not None else "") + "). "
            f"Of its {sum(total.values())} tested claims, {total['holds']} hold, "
            f"{total['does not hold']} do not hold and {total['not testable here']} are not testable "
            f"here ([all verdicts](claims.md)). Built {built}.")
    return head + "\n\n" + "\n".join(f"* **{k}**: {v}" for k, v in facts.items())


def notebook_title(path: Path, name: str) -> str:
    for cell in read_json_file(path).get("cells", []):
        if cell.get("cell_type") == "markdown":
            for line in "".join(cell.get("source", "")).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return name


# --- assembling and building ---------------------------------------------------------------------

def _fresh_build_dir(build_dir: Path) -> None:
    if build_dir.exists():
        if any(build_dir.iterdir()) and not (build_dir / BUILD_MARK).exists():
            raise ValueError(f"{build_dir} exists and was not made by paperlib.publish.book; give an empty "
                             "or new folder as the build folder.")
        shutil.rmtree(build_dir)
    build_dir.mkdir(parents=True)
    (build_dir / BUILD_MARK).write_text("generated by paperlib.publish.book; deleted on each build\n")


def shown_cells(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A notebook's cells as the book shows them: the parameters it ran with once (papermill's
    injected cell), without the defaults cell beside it."""
    def tags(cell: dict[str, Any]) -> list[str]:
        return cell.get("metadata", {}).get("tags", [])

    if not any("injected-parameters" in tags(c) for c in cells):
        return cells
    return [c for c in cells if "parameters" not in tags(c)]


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
LAB_ONLY = ("application/vnd.plotly.v1+json",)  # JupyterLab's renderers; the book has the HTML beside


def for_the_page(notebook: dict[str, Any]) -> dict[str, Any]:
    """The notebook as a static page shows it: no widget views and no saved widget state (a
    progress bar is a live view of a kernel that is gone; without widget state the page loads no
    widget JavaScript from a CDN), and no output types only JupyterLab renders."""
    notebook.get("metadata", {}).pop("widgets", None)
    for cell in notebook["cells"]:
        if "outputs" in cell:
            cell["outputs"] = [o for o in cell["outputs"] if WIDGET_VIEW not in o.get("data", {})]
            for output in cell["outputs"]:
                for mime in LAB_ONLY:
                    output.get("data", {}).pop(mime, None)
    return notebook


PLOTLY_JS = "_static/plotly.min.js"
# Beside _static/, which jupyter-book scans to load every script found there on every page: MathJax
# loads its own parts. Sphinx copies it to the site's root (`html_extra_path` in `_config.yml`).
MATHJAX_DIR = "_vendor/mathjax"


def ship_scripts(build_dir: Path) -> None:
    """Copy the scripts the pages need into the book, so that it works offline and fetches nothing
    from a CDN: plotly.js of the installed plotly (the interactive figures; `_config.yml` loads it
    on every page) and MathJax 2 of the installed jupyter-server-mathjax (the formulas)."""
    from importlib.resources import files

    from plotly.offline import get_plotlyjs

    target = build_dir / PLOTLY_JS
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(get_plotlyjs(), encoding="utf-8")
    mathjax = Path(str(files("jupyter_server_mathjax") / "static"))
    shutil.copytree(mathjax, build_dir / MATHJAX_DIR, ignore=shutil.ignore_patterns("SVG"))


def write_book_source(run: dict[str, Any], build_dir: Path, *, sweep: SweepFolder | None = None) -> None:
    """Fill `build_dir` with the static pages, the run's notebooks (provenance on top), claims.md,
    splits.md (this run beside its sibling runs that differ only in `split`) and across_seeds.md
    (from `sweep`, else from the sweep that matches the run, if any)."""
    source = book_source_dir()
    for name in STATIC_FILES:
        (build_dir / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / name, build_dir / name)
    ship_scripts(build_dir)
    repo_url, branch = repository(build_dir / "_config.yml")
    facts = provenance_facts(run)
    (build_dir / "notebooks").mkdir()
    titles = {}
    for name, path in run["notebooks"].items():
        notebook = for_the_page(read_json_file(path))
        titles[name] = notebook_title(path, name)
        cell = {"cell_type": "markdown", "id": "book-provenance",
                "metadata": {"tags": ["book-provenance"]},
                "source": provenance_cell_text(name, facts, repo_url=repo_url, branch=branch)}
        notebook["cells"] = [cell, *shown_cells(notebook["cells"])]
        (build_dir / "notebooks" / f"{name}.ipynb").write_text(json.dumps(notebook))
    (build_dir / f"{PAGE}.md").write_text(split_page(compare_splits(run["run_dir"]), run["parameters"]))
    sweep = sweep or across_seeds_page.matching_sweep(run["run_dir"])
    if sweep is None:
        page = across_seeds_page.no_sweep_page(run["parameters"])
    else:
        member = run["run_dir"].name if across_seeds_page.is_member(run["run_dir"], sweep) else None
        page = across_seeds_page.across_seeds_page(sweep.read(), sweep.path, shown_member=member)
    (build_dir / f"{across_seeds_page.PAGE}.md").write_text(page)
    dose_sweep = sweep if sweep is not None and dose_response_page.has_difficulty_axis(sweep.read()) \
        else dose_response_page.dose_sweep(run["parameters"]["profile"])
    dose = None
    if dose_sweep is None:
        page = dose_response_page.no_dose_page(run["parameters"]["profile"],
                                                run["manifest"].get("config", {}).get("dataset", "?"),
                                                str(run["run_dir"]))
    else:
        page, dose = dose_response_page.dose_response_page(dose_sweep.read(), dose_sweep, build_dir)
    (build_dir / f"{dose_response_page.PAGE}.md").write_text(page)
    (build_dir / "claims.md").write_text(claims_page(run, titles, dose))
    intro = (build_dir / "intro.md").read_text()
    if PROVENANCE_MARKER not in intro:
        raise ValueError(f"{source / 'intro.md'} lacks the marker {PROVENANCE_MARKER} where the "
                         "run's provenance goes.")
    (build_dir / "intro.md").write_text(intro.replace(PROVENANCE_MARKER, intro_provenance(run)))


def jupyter_book_executable() -> Path:
    exe = Path(sys.executable).parent / "jupyter-book"
    if not exe.exists():
        raise FileNotFoundError(f"{exe} not found; install the project's environment "
                                "(`make venv`) to get jupyter-book 1.")
    return exe


def shown_member(sweep: SweepFolder) -> Path:
    """The run folder whose notebooks a sweep's book shows: its first member that is done."""
    done = [m.name for m in sweep.read().members if m.status == "done"]
    if not done:
        raise ValueError(f"No member of the sweep {sweep.path} is done yet; run the sweep (again) "
                         "before building its book.")
    return sweep.member_dir(done[0])


def build_book(run_dir: str | Path | None = None, *, sweep_dir: str | Path | None = None,
               build_dir: str | Path | None = None, strict: bool = False,
               timeout_s: float = 600) -> Path:
    """Build the book of one run, or of a sweep (`sweep_dir`: its first done member's notebooks and
    the across-seeds page of all), to HTML and return its `index.html`.

    `build_dir` (default `book/_generated/`, for a sweep its `book/`) is wiped and refilled.
    `strict` turns Sphinx warnings into errors. Refuses missing notebooks (naming the command that
    makes them) and notebooks of mixed runs (ValueError naming the odd one)."""
    if (run_dir is None) == (sweep_dir is None):
        raise ValueError("Give either a run folder or a sweep folder to build a book from.")
    sweep = SweepFolder(paths.resolve(sweep_dir)) if sweep_dir is not None else None
    run = read_run(shown_member(sweep) if sweep else paths.resolve(run_dir))
    if build_dir:
        build_dir = Path(build_dir).resolve()
    else:
        build_dir = sweep.path_of("sweep_book") if sweep else default_build_dir()
    _fresh_build_dir(build_dir)
    write_book_source(run, build_dir, sweep=sweep)
    command = [str(jupyter_book_executable()), "build", str(build_dir), "--builder", "html"]
    if strict:
        command += ["--warningiserror", "--keep-going"]
    start = time.perf_counter()
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s,
                                cwd=build_dir)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"jupyter-book build of {build_dir} took over {timeout_s:.0f} s.") from None
    log = result.stdout + result.stderr
    (build_dir / "build.log").write_text(log)
    index = build_dir / "_build" / "html" / "index.html"
    if result.returncode != 0 or not index.is_file():
        raise RuntimeError(f"jupyter-book build failed (exit {result.returncode}); the log is "
                           f"{build_dir / 'build.log'}; its end:\n{log[-3000:]}")
    (build_dir / "build_seconds.txt").write_text(f"{time.perf_counter() - start:.1f}\n")
    return index

"""The `paperlib` command: `paperlib reproduce` runs the notebooks on a profile;
`paperlib train` trains every model of a run without the notebooks (03 reuses them);
`paperlib sweep --seeds N [--set NAME=V1,V2] [--scheduler ADDR]` runs many runs on Dask;
`paperlib similar FILE... --run RUN_DIR [--whole] [--json]` answers "what is my song like?" (the
run's model, and real genres from real GTZAN's clip statistics);
`paperlib book --run RUN_DIR | --sweep SWEEP_DIR` builds the Jupyter Book and prints its index.html;
`paperlib fetch gtzan|metadata|features --dest DIR` downloads and verifies GTZAN, its metadata or
its feature table;
`paperlib params --profile NAME` lists every parameter: type, default, the profile's value, help."""

from __future__ import annotations

import argparse
import json
import sys

from paperlib.analysis.similar import (
    REAL_MODEL,
    SYNTHETIC_NOTICE,
    Similarity,
    audio_files,
    real_genre_model,
)
from paperlib.core import paths
from paperlib.core.config import load_profile, parameter_rows
from paperlib.core.overrides import parse_sets
from paperlib.core.run_folder import RunFolderError
from paperlib.core.run_lock import hold_run_folder
from paperlib.core.session import configure_environment, import_tensorflow_quietly
from paperlib.data import download
from paperlib.data.audio import AudioError
from paperlib.data.prepare import load_prepared, prepare_data
from paperlib.model.cross_validation import run_cross_validation
from paperlib.publish.book import build_book
from paperlib.publish.notebook_runner import run_notebooks
from paperlib.sweep.runner import plan_sweep, run_sweep


def _reproduce(args: argparse.Namespace) -> int:
    configure_environment()
    only = args.notebooks.split(",") if args.notebooks else None
    overrides = parse_sets(args.set)
    executed = run_notebooks(args.profile, overrides, only=only)
    run_path = load_profile(args.profile, **overrides).run_path()
    print(f"Executed {len(executed)} notebook(s) of run {run_path}")
    if only is None and not args.no_book:
        index = build_book(run_path)
        print(f"The book: open {index}")
    return 0


def _train(args: argparse.Namespace) -> int:
    configure_environment()
    import_tensorflow_quietly()
    config = load_profile(args.profile, **parse_sets(args.set))
    with hold_run_folder(config.run_path()):
        try:  # step 01's data, prepared first when the run has none yet
            prepared = load_prepared(config)
        except RunFolderError:
            prepared, _ = prepare_data(config)
        trained = run_cross_validation(prepared, config)
    accuracy = ", ".join(f"{pooling} {cv.accuracy:.3f}" for pooling, cv in trained.items())
    print(f"Trained every model of {config.run_path()} (held-out accuracy: {accuracy}); `make "
          f"reproduce PROFILE={config.profile}` reuses them.")
    return 0


def _sweep(args: argparse.Namespace) -> int:
    configure_environment()
    plan = plan_sweep(args.profile, seeds=args.seeds, sets=args.set, name=args.name,
                      notebooks=args.notebooks.split(",") if args.notebooks else None)
    with hold_run_folder(plan.folder.path):  # its members' folders come back into it
        record = run_sweep(plan, scheduler=args.scheduler, workers=args.workers, together=args.together)
    states = [m.status for m in record.members]
    print(f"Sweep {plan.folder.path}: {states.count('done')} of {len(states)} members done, "
          f"{states.count('failed')} failed; {plan.folder.path_of('sweep_record')}")
    for member in (m for m in record.members if m.status == "failed"):
        print(f"  {member.name} failed: {member.error}"
              + (f" (executed notebook: {member.notebook})" if member.notebook else ""))
    if states.count("done") and not args.notebooks and not args.no_book:
        print(f"The book: open {build_book(sweep_dir=plan.folder.path)}")
    return 1 if "failed" in states else 0


def _similar(args: argparse.Namespace) -> int:
    configure_environment()
    import_tensorflow_quietly()
    files, skipped = audio_files(args.files)
    if not files:  # nothing to answer: say why before loading any model
        raise ValueError(" ".join(skipped.values()))
    similarity = Similarity(args.run, k=args.k)  # a wrong run or k: said before the real genres
    real, missing = real_genre_model(features_url=args.features_url, metadata_url=args.metadata_url, k=args.k)
    similarity.real = real
    notice = SYNTHETIC_NOTICE if similarity.synthetic else None
    if not args.json:
        for line in (notice, missing):
            if line:
                print(line, flush=True)
    results = []
    for path in files:
        try:
            result = similarity.analyse(path, whole=args.whole)
        except (AudioError, ValueError) as exc:
            if len(files) == 1 and not skipped:
                raise
            skipped[str(path)] = str(exc)
            print(f"skipped {path}: {exc}", file=sys.stderr, flush=True)
            continue
        results.append(result)
        if not args.json:
            print(f"\n{result.report()}", flush=True)
    if args.json:
        print(json.dumps({"run": str(similarity.run.path), "notice": notice,
                          "real_genres": {"model": REAL_MODEL, "problem": missing or None,
                                          "reliability": real.reliability.to_dict()
                                          if real is not None and real.reliability else None},
                          "results": [r.to_dict() for r in results], "skipped": skipped},
                         indent=2, allow_nan=False))
    return 0 if results else 2


def _book(args: argparse.Namespace) -> int:
    print(build_book(args.run, sweep_dir=args.sweep, build_dir=args.out))
    return 0


def _fetch(args: argparse.Namespace) -> int:
    dest = paths.resolve(args.dest)  # like data_dir: relative to the project root
    if args.what == "gtzan":
        folder = download.fetch_gtzan(dest, urls=args.mirror or None)
        print(f"GTZAN is in {folder / 'genres'}")
    elif args.what == "features":
        print(download.fetch_features(dest, base_url=args.base_url))
    else:
        for path in download.fetch_metadata(dest, base_url=args.base_url).values():
            print(path)
    return 0


def _params(args: argparse.Namespace) -> int:
    config = load_profile(args.profile, **parse_sets(args.set))
    rows = parameter_rows(config)
    print(aligned_table(rows, {"parameter": "parameter", "type": "type", "default": "default",
                               "value": f"in {config.profile}", "help": "help"}))
    return 0


def aligned_table(rows: list[dict[str, str]], headers: dict[str, str]) -> str:
    """Rows as left-aligned columns (key -> header in `headers`), a dashed line under the headers."""
    widths = {k: max(len(h), *(len(r[k]) for r in rows)) for k, h in headers.items()}
    lines = [headers, {k: "-" * w for k, w in widths.items()}, *rows]
    return "\n".join("  ".join(line[k].ljust(widths[k]) for k in headers).rstrip() for line in lines)


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    """--profile and --set, shared by the commands that make or describe a run."""
    parser.add_argument("--profile", default="default", help="params/<profile>.yaml or a YAML path")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="override one parameter (repeatable)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="paperlib", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("reproduce", help="run the notebooks in order with papermill")
    _add_run_options(rep)
    rep.add_argument("--notebooks", help="comma-separated notebook names to run (default: all, "
                                          "then the book is built)")
    rep.add_argument("--no-book", action="store_true", help="do not build the book at the end")
    rep.set_defaults(func=_reproduce)
    train = sub.add_parser(
        "train", help="train every model of a run without the notebooks (03 reuses them)",
        description="Prepare the data when the run has none, then train every model of the run "
                    "(the folds, the final all-clip model, the ablation's folds) together, as "
                    "notebook 03 does. An interrupted training resumes from its last epoch.")
    _add_run_options(train)
    train.set_defaults(func=_train)
    sweep = sub.add_parser(
        "sweep", help="run the notebooks for many seeds (and splits or sources) on Dask",
        description="Expand seeds x the values given with --set into members, run each member's "
                    "notebooks as a task on Dask (a local cluster, or --scheduler), bring every "
                    "member's run folder back to runs/<name>/members/, write sweep.json (how often "
                    "each claim holds) and build the sweep's book. Members already done are skipped "
                    "when the same command runs again.")
    sweep.add_argument("--profile", default="default", help="params/<profile>.yaml or a YAML path")
    sweep.add_argument("--seeds", type=int, metavar="N",
                       help="N seeds from the profile's (or give them: --set seed=1,7,42)")
    sweep.add_argument("--set", action="append", default=[], metavar="NAME=V1[,V2...]",
                       help="one value for every member, or several: one member each (repeatable)")
    sweep.add_argument("--scheduler", metavar="ADDRESS",
                       help="a running Dask scheduler, e.g. tcp://host:8786 (default: a local cluster)")
    sweep.add_argument("--workers", type=int, metavar="N",
                       help="members at once on the local cluster (default: by cores and memory)")
    sweep.add_argument("--name", help="the sweep folder: runs/NAME (default sweep-<profile>), or a path")
    sweep.add_argument("--notebooks", help="comma-separated notebook names to run (default: all)")
    sweep.add_argument("--no-book", action="store_true", help="do not build the sweep's book")
    sweep.add_argument("--together", action="store_true",
                       help="train the models of members that differ only in their seed in one program "
                            "here first (with trainer=vector on a GPU: every seed's models in one step)")
    sweep.set_defaults(func=_sweep)
    sim = sub.add_parser(
        "similar", help="the pieces of a run nearest to audio files, by the final model's signature",
        description="Read each FILE (any format librosa reads, at least 4 s; a longer file keeps its "
                    "centred 30 s unless --whole, a shorter one is padded with silence) and print "
                    "every genre's probability, the run's nearest pieces and the highest-attention "
                    "moment. Beside the run's answer, real genres: the file's librosa clip "
                    "statistics (as Kaggle's GTZAN feature table has them) classified by a logistic "
                    "regression fitted on real GTZAN's 1000 clips, with its leave-one-artist-out "
                    "accuracy, and the nearest real GTZAN clips. That needs the feature table and "
                    "the artist index: kept in the project cache once fetched (notebook 10 or a "
                    "first `similar` fetch them from their pinned origins), or from the mirrors "
                    "--features-url / --metadata-url; offline without them, only the run answers. "
                    "The first use fits the model once per artist to measure that accuracy (seconds, "
                    "once) and caches it. A folder stands for the audio files in it; bad files there "
                    "are named and skipped.")
    sim.add_argument("files", nargs="+", metavar="FILE", help="audio files or folders")
    sim.add_argument("--run", required=True, metavar="RUN_DIR",
                     help="a run folder with a trained final model (notebook 03_cv_training)")
    sim.add_argument("--k", type=int, default=5, help="how many pieces to list (default 5)")
    sim.add_argument("--whole", action="store_true",
                     help="analyse the whole track in consecutive 30 s windows (vote, mean probabilities)")
    sim.add_argument("--json", action="store_true", help="print the results as JSON")
    sim.add_argument("--features-url", metavar="URL",
                     help="where to fetch GTZAN's feature table when the project cache lacks it: a "
                          "mirror (file:// or http(s)://), e.g. file:///absolute/DIR after `paperlib "
                          "fetch features --dest DIR` (default: its pinned origins)")
    sim.add_argument("--metadata-url", metavar="URL",
                     help="where to fetch GTZAN's artist index when the project cache lacks it: a "
                          "mirror, e.g. file:///absolute/DIR after `paperlib fetch metadata --dest DIR` "
                          "(default: its pinned origins)")
    sim.set_defaults(func=_similar)
    book = sub.add_parser(
        "book", help="build the Jupyter Book (HTML) of a run and print the path of its index.html",
        description="Copy book/ and the run's executed notebooks (refusing notebooks of mixed "
                    "runs) into a build folder, generate the claims page from metrics.json, and "
                    "build the HTML offline with jupyter-book, without executing anything.")
    which = book.add_mutually_exclusive_group(required=True)
    which.add_argument("--run", metavar="RUN_DIR",
                       help="a run folder with all notebooks executed (e.g. runs/default)")
    which.add_argument("--sweep", metavar="SWEEP_DIR",
                       help="a sweep folder (runs/<sweep-name>): a member's notebooks and the "
                            "across-seeds page of all; built into SWEEP_DIR/book by default")
    book.add_argument("--out", metavar="BUILD_DIR",
                      help="the build folder, wiped and refilled (default book/_generated; for a "
                           "sweep SWEEP_DIR/book)")
    book.set_defaults(func=_book)
    fetch = sub.add_parser(
        "fetch", help="download and verify GTZAN (genres.tar.gz), its split/index metadata or its "
                      "feature table",
        description="Download with resume and SHA-256 verification; GTZAN is then extracted into "
                    "DIR/genres/. Nothing is fetched again once verified.")
    what = fetch.add_subparsers(dest="what", required=True)
    gtzan = what.add_parser("gtzan", help="GTZAN's genres.tar.gz, extracted into DIR/genres/")
    gtzan.add_argument("--dest", required=True, metavar="DIR",
                       help="the folder to hold genres/ (a relative path is from the project root)")
    gtzan.add_argument("--mirror", nargs="+", action="extend", metavar="URL",
                       help="URL(s) of genres.tar.gz tried in order instead of the default mirrors")
    gtzan.set_defaults(func=_fetch)
    meta = what.add_parser("metadata", help="the artist-filtered split lists and GTZANindex.txt")
    meta.add_argument("--dest", required=True, metavar="DIR",
                      help="the folder to hold the files (a relative path is from the project root)")
    meta.add_argument("--base-url", metavar="URL",
                      help="a mirror (http(s):// or file://) serving the files by name")
    meta.set_defaults(func=_fetch)
    features = what.add_parser(
        "features", help="Kaggle's GTZAN feature table features_30_sec.csv (no audio needed)",
        description="Librosa statistics of GTZAN's 1000 real clips (1 MB), the data of notebook "
                    "10; point the `features_url` parameter at DIR (file://...) to use this copy.")
    features.add_argument("--dest", required=True, metavar="DIR",
                          help="the folder to hold the file (a relative path is from the project root)")
    features.add_argument("--base-url", metavar="URL",
                          help="a mirror (http(s):// or file://) serving features_30_sec.csv")
    features.set_defaults(func=_fetch)
    params = sub.add_parser(
        "params", help="list every parameter: type, default, a profile's value, help",
        description="Print one row per parameter of a run: its name, type (with its choices or "
                    "range), default, its value in the profile (with the --set overrides) where "
                    "that differs from the default, and what it does. Nothing is run.")
    _add_run_options(params)
    params.set_defaults(func=_params)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, RuntimeError, OSError) as exc:
        print(f"error: {str(exc) or type(exc).__name__}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("Interrupted: what was finished is kept (a sweep's done members, a training's last "
              "epoch); the same command continues.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

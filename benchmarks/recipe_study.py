"""The training-recipe study (issues 21 and 28): train the default profile with named recipes on chosen
seeds and keep one row per finished training in a committed CSV, so a study can span sessions and
machines.

Run (each training resumable; a row already in the CSV is not trained again):
    .venv/bin/python benchmarks/recipe_study.py run --recipes today,cosine --seeds 100,101 [--ablation]
    .venv/bin/python benchmarks/recipe_study.py together --recipes bn-acc-20,mix-0.25 --seeds 100,101,102
    .venv/bin/python benchmarks/recipe_study.py screen --recipes bn-acc-20,mix-0.25 --seeds 100,101 [--folds 1,2,3]
    .venv/bin/python benchmarks/recipe_study.py screen-table
    .venv/bin/python benchmarks/recipe_study.py record --recipe bn-acc-20 runs/sweep-default/members/*
    .venv/bin/python benchmarks/recipe_study.py table [--seeds 42,7,1,3,5]
`together` trains each recipe's seeds in one program (`train_runs_together`, with the ablation; on
a GPU with `--set trainer=vector`) from this process, no notebooks: the way to run the study on a
machine with JAX and no Jupyter. `RECIPE_STUDY_RESULTS` names another CSV to append to.
Rows are judged by the held-out folds only; recipes are chosen on seeds 100-104, and seeds 42, 7, 1,
3 and 5 are only reported. `table` prints one row per recipe and seed and a summary per recipe.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(os.environ.get("RECIPE_STUDY_RESULTS", ROOT / "benchmarks" / "results" / "recipe-study.csv"))
RUNS = Path(os.environ.get("RECIPE_STUDY_RUNS", ROOT / "runs" / "recipe-study"))
# Each recipe: the parameters it sets on the default profile. The chosen recipe (bn-acc-20) is the
# default since issue 21; "today" is the recipe before it (no batch normalisation, early stopping on
# the validation loss from epoch 30), and the other candidates are variations of "today".
TODAY = {"batch_norm": False, "early_stopping_monitor": "val_loss", "early_stopping_start": 30}
COSINE = {**TODAY, "lr_schedule": "cosine", "lr_warmup_epochs": 3, "epochs": 40, "early_stopping_start": 20}
# The defaults of the first round that later rounds changed: every recipe of the first round (and
# bn-acc-20, the second round's starting point) is read with them.
FIRST_ROUND = {"attention_warmup": 10, "attention_mix": 1.0}
RECIPES: dict[str, dict[str, object]] = {
    "today": TODAY,
    "lr-6e-3": {**TODAY, "learning_rate": 0.006},
    "lr-1e-3": {**TODAY, "learning_rate": 0.001},
    "batch-8": {**TODAY, "batch_size": 8},
    "no-attention-warmup": {**TODAY, "attention_warmup": 0},
    "cosine-6e-3": {**COSINE, "learning_rate": 0.006},
    "cosine-1e-2": {**COSINE, "learning_rate": 0.01},
    "cosine-6e-3-acc": {**COSINE, "learning_rate": 0.006, "early_stopping_monitor": "val_accuracy"},
    "cosine-6e-3-mixup": {**COSINE, "learning_rate": 0.006, "mixup": 0.4},
    "cosine-6e-3-masks": {**COSINE, "learning_rate": 0.006, "time_mask": 8, "freq_mask": 24},
    "cosine-6e-3-smooth-wd-clip": {**COSINE, "learning_rate": 0.006, "label_smoothing": 0.1,
                                   "weight_decay": 1e-3, "clip_norm": 1.0},
    "bn": {**TODAY, "batch_norm": True},
    "bn-cosine-3e-3": {**COSINE, "batch_norm": True},
    "bn-cosine-1e-2": {**COSINE, "batch_norm": True, "learning_rate": 0.01},
    "bn-no-attention-warmup": {**TODAY, "batch_norm": True, "attention_warmup": 0},
    # stop once the validation accuracy has not risen for 8 epochs (from epoch 10), cap 40
    "bn-acc": {"batch_norm": True, "early_stopping_monitor": "val_accuracy", "early_stopping_start": 10,
               "early_stopping_patience": 8, "epochs": 40},
    "bn-cosine-acc": {**COSINE, "batch_norm": True, "early_stopping_monitor": "val_accuracy",
                      "early_stopping_start": 10, "early_stopping_patience": 8},
    # the same from epoch 20 with patience 10 (a fold on the confusable pairs' plateau keeps going), cap
    # 50: the chosen recipe, today's defaults
    "bn-acc-20": {"batch_norm": True, "early_stopping_monitor": "val_accuracy", "early_stopping_start": 20},
    "bn-cosine-acc-20": {**COSINE, "batch_norm": True, "early_stopping_monitor": "val_accuracy",
                         "early_stopping_start": 20, "epochs": 50},
    "bn-acc-warmup-5": {"batch_norm": True, "early_stopping_monitor": "val_accuracy", "early_stopping_start": 10,
                        "early_stopping_patience": 8, "epochs": 40, "attention_warmup": 5},
}
# The second round (issue 28): bn-acc-20 and a variation each, judged on held-out accuracy and on
# attention's recovery of the planted moment.
RECIPES = {name: {**FIRST_ROUND, **recipe} for name, recipe in RECIPES.items()}
BN_ACC_20 = RECIPES["bn-acc-20"]
RECIPES.update({
    "warmup-20": {**BN_ACC_20, "attention_warmup": 20},
    "warmup-5": {**BN_ACC_20, "attention_warmup": 5},
    "mix-0.25": {**BN_ACC_20, "attention_mix": 0.25},
    "mixup": {**BN_ACC_20, "mixup": 0.4},
    "masks": {**BN_ACC_20, "time_mask": 8, "freq_mask": 24},
    "smooth-wd-clip": {**BN_ACC_20, "label_smoothing": 0.1, "weight_decay": 1e-3, "clip_norm": 1.0},
    # after the first screen (warmup-20 ahead): a longer warm-up, watched from its end, and the two
    # best changes together
    "warmup-30": {**BN_ACC_20, "attention_warmup": 30, "early_stopping_start": 30},
    "warmup-20-mix-0.25": {**BN_ACC_20, "attention_warmup": 20, "attention_mix": 0.25},
})
CHOSEN = "warmup-20-mix-0.25"  # the second round's choice: today's defaults
COLUMNS = ["recipe", "seed", "ablation", "oof_accuracy", "lowest_fold", "folds_below_0.85",
           "mean_pool_accuracy", "recovery", "median_best_epoch", "best_within_2_of_cap",
           "stopped_early", "models", "final_attempts", "train_seconds", "epochs_cap", "machine",
           "date", "commit", "overrides", "mcnemar_p_mean", "trainer"]


def _overrides(recipe: str, seed: int, ablation: bool) -> dict[str, object]:
    if recipe not in RECIPES:
        raise SystemExit(f"Unknown recipe {recipe!r}; known: {', '.join(RECIPES)}.")
    return {**RECIPES[recipe], "seed": seed, "ablation": ablation}


def _machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() \
        else platform.processor()
    machine = f"{os.cpu_count()}-core {model}"
    if os.environ.get("KERAS_BACKEND") == "jax":
        import jax

        if jax.default_backend() != "cpu":
            machine += f", {jax.devices()[0].device_kind}"
    return machine


def _commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip()


def measure(run_dir: Path) -> dict[str, object]:
    """The study's numbers of one trained run folder (held-out folds only)."""
    from paperlib.analysis.attention import recovery
    from paperlib.analysis.confusion import mcnemar
    from paperlib.core.registry import FINAL
    from paperlib.core.run_folder import open_existing_run
    from paperlib.model.cross_validation import load_oof
    from paperlib.model.store import load_fold

    run = open_existing_run(run_dir)
    config = run.config
    tracks = run.load_table("tracks")
    oof = load_oof(run, "attention")
    correct = oof["genre"].argmax(1) == oof["label"]
    folds = [load_fold(run, "attention", k) for k in range(config.folds)]
    models = folds + [load_fold(run, "attention", FINAL)]
    mean = p_mean = None
    if config.ablation:
        mean_oof = load_oof(run, "mean")
        mean_correct = mean_oof["genre"].argmax(1) == mean_oof["label"]
        mean = float(np.mean(mean_correct))
        p_mean = mcnemar(correct, mean_correct).p_value
        models += [load_fold(run, "mean", k) for k in range(config.folds)]
    best = np.array([m.best_epoch for m in models])
    ran = np.array([len(m.history) for m in models])
    accuracies = [f.accuracy for f in folds]
    overall = recovery(oof["attention"], tracks["motif_tokens"], correct, genres=tracks["genre"]).loc["overall"]
    attempts = len(list(run.path_of("final_attempts", pooling="attention").glob("*")))
    return {"oof_accuracy": round(float(correct.mean()), 4), "lowest_fold": round(min(accuracies), 4),
            "folds_below_0.85": sum(a < 0.85 for a in accuracies),
            "mean_pool_accuracy": None if mean is None else round(mean, 4),
            "recovery": round(float(overall["recovery"]), 4),
            "median_best_epoch": float(np.median(best)),
            "best_within_2_of_cap": int(np.sum(best >= config.epochs - 2)),
            "stopped_early": int(np.sum(ran < config.epochs)), "models": len(models),
            "final_attempts": max(1, attempts), "epochs_cap": config.epochs,
            "train_seconds": round(sum(m.seconds for m in models), 1),
            "mcnemar_p_mean": None if p_mean is None else round(p_mean, 4), "trainer": config.trainer}


def read_rows() -> list[dict[str, str]]:
    if not RESULTS.is_file():
        return []
    with RESULTS.open() as f:
        return list(csv.DictReader(f))


def append_row(row: dict[str, object]) -> None:
    """Add a row; a CSV written with fewer columns is rewritten with today's first."""
    rows = read_rows()
    if rows and list(rows[0]) != COLUMNS:
        with RESULTS.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
    _append(RESULTS, COLUMNS, row)


def _append(path: Path, columns: list[str], row: dict[str, object]) -> None:
    """One row at the end of a CSV, its header first when the file is new."""
    new = not path.is_file()
    with path.open("a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        if new:
            writer.writeheader()
        writer.writerow(row)


def run(recipes: list[str], seeds: list[int], ablation: bool) -> None:
    done = {(r["recipe"], r["seed"], r["ablation"]) for r in read_rows()}
    for seed in seeds:
        for recipe in recipes:
            if (recipe, str(seed), str(ablation)) in done:
                print(f"{recipe} seed {seed}: in {RESULTS.name} already")
                continue
            overrides = _overrides(recipe, seed, ablation)
            run_dir = RUNS / f"{recipe}{'-ablation' if ablation else ''}" / f"seed-{seed}"
            command = [sys.executable, "-m", "paperlib", "train", "--profile", "default",
                       "--set", f"run_dir={run_dir}",
                       *[f"--set={k}={json.dumps(v) if isinstance(v, bool) else v}" for k, v in overrides.items()]]
            start = time.perf_counter()
            done_run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
            if done_run.returncode != 0:
                print(f"{recipe} seed {seed} failed:\n{done_run.stderr[-2000:]}", file=sys.stderr)
                continue
            _keep(recipe, seed, ablation, run_dir, wall=time.perf_counter() - start)


def together(recipes: list[str], seeds: list[int], sets: dict[str, object], profile: str = "default") -> None:
    """Each recipe's seeds trained in one program (with the ablation), then each run's step 03
    finished (out-of-fold outputs saved) and measured into the CSV. `sets`: parameters for every
    run (e.g. trainer=vector)."""
    from paperlib.core.config import load_profile
    from paperlib.data.prepare import prepare_data
    from paperlib.model.cross_validation import run_cross_validation, train_runs_together

    done = {(r["recipe"], r["seed"], r["ablation"]) for r in read_rows()}
    for recipe in recipes:
        todo = [seed for seed in seeds if (recipe, str(seed), "True") not in done]
        if not todo:
            print(f"{recipe}: every seed in {RESULTS.name} already", flush=True)
            continue
        start = time.perf_counter()
        prepared = [prepare_data(load_profile(profile, **{**_overrides(recipe, seed, True), **sets},
                                              run_dir=str(RUNS / f"{recipe}-ablation" / f"seed-{seed}")),
                                 progress=False)[0] for seed in todo]
        data_seconds = time.perf_counter() - start
        train_runs_together(prepared, RUNS / f"{recipe}-together-checkpoint.npz", progress=False)
        for one in prepared:
            run_cross_validation(one, one.run.config, progress=False)
        wall = time.perf_counter() - start - data_seconds
        print(f"{recipe}: {len(todo)} seeds trained together in {wall:.0f} s (data {data_seconds:.0f} s)",
              flush=True)
        for one in prepared:
            _keep(recipe, one.run.config.seed, True, one.run.path, wall=wall / len(todo))


def _keep(recipe: str, seed: int, ablation: bool, run_dir: Path, wall: float | None = None) -> None:
    """Measure a trained run folder, append its row to the CSV and say its headline numbers."""
    row = {"recipe": recipe, "seed": seed, "ablation": ablation, **measure(run_dir),
           "machine": _machine(), "date": date.today().isoformat(), "commit": _commit(),
           "overrides": json.dumps(RECIPES[recipe], sort_keys=True)}
    if wall is not None:
        row["train_seconds"] = f"{row['train_seconds']} (wall {wall:.0f})"
    append_row(row)
    print(f"{recipe} seed {seed}: out of fold {row['oof_accuracy']}, lowest fold "
          f"{row['lowest_fold']}, recovery {row['recovery']}", flush=True)


def record(recipe: str, run_dirs: list[Path]) -> None:
    """Rows for run folders trained elsewhere (e.g. a sweep's members, whose notebooks also give
    McNemar's test), after checking that each was trained with the recipe's parameters."""
    from paperlib.core.run_folder import open_existing_run

    done = {(r["recipe"], r["seed"], r["ablation"]) for r in read_rows()}
    for run_dir in run_dirs:
        config = open_existing_run(run_dir).config
        differs = {k: getattr(config, k) for k, v in RECIPES[recipe].items() if getattr(config, k) != v}
        if differs:
            raise SystemExit(f"{run_dir} was not trained with recipe {recipe!r}: {differs}")
        if (recipe, str(config.seed), str(config.ablation)) in done:
            print(f"{recipe} seed {config.seed}: in {RESULTS.name} already")
            continue
        _keep(recipe, config.seed, config.ablation, run_dir)


SCREEN = RESULTS.with_name("recipe-screen.csv")
SCREEN_COLUMNS = ["recipe", "seed", "fold", "held_out_accuracy", "recovery", "chance", "best_epoch",
                  "epochs_run", "found_epoch", "seconds", "trainer", "machine", "date", "commit"]


def screen(recipes: list[str], seeds: list[int], folds: list[int], sets: dict[str, object]) -> None:
    """A cheaper look (attention models of a few folds, no final model, no ablation): per seed,
    the run's own data and folds (prepared once), each recipe's fold models trained together, one
    row per model in recipe-screen.csv (held-out accuracy, recovery of the planted moment on its
    held-out clips, best epoch, the first epoch whose validation accuracy reached 0.85). A row
    already in the CSV is not trained again: the screen can span sessions."""
    import pandas as pd

    from paperlib.analysis.attention import recovery
    from paperlib.core.config import load_profile
    from paperlib.core.run_folder import RunFolderError
    from paperlib.data.features import cut_tokens
    from paperlib.data.folds import fold_assignment
    from paperlib.data.prepare import load_prepared, prepare_data
    from paperlib.model.cross_validation import model_spec
    from paperlib.model.trainers import train_models

    done = set()
    if SCREEN.is_file():
        done = {(r["recipe"], int(r["seed"]), int(r["fold"])) for r in pd.read_csv(SCREEN).to_dict("records")}
    for seed in seeds:
        base = load_profile("default", seed=seed, run_dir=str(RUNS / "screen-data" / f"seed-{seed}"))
        try:
            prepared = load_prepared(base)
        except RunFolderError:
            prepared, _ = prepare_data(base, progress=False)
        clip_folds = fold_assignment(prepared.tracks, base)
        tokens, labels, tracks = cut_tokens(prepared.images, base), prepared.labels, prepared.tracks
        for recipe in recipes:
            todo = [fold for fold in folds if (recipe, seed, fold + 1) not in done]
            if not todo:
                continue
            config = base.replace(**{**RECIPES[recipe], **sets})
            specs = [model_spec("attention", fold, labels, clip_folds, config) for fold in todo]
            start = time.perf_counter()
            trained = train_models(specs, tokens, labels, config, RUNS / "screen-checkpoint.npz", progress=False)
            seconds = time.perf_counter() - start
            (RUNS / "screen-checkpoint.npz").unlink(missing_ok=True)
            cells = []
            for spec in specs:
                model, held = trained[spec.key], spec.held_out
                correct = model.outputs["genre"][held].argmax(1) == labels[held]
                found = recovery(model.outputs["attention"][held], tracks["motif_tokens"].to_numpy()[held],
                                 correct, genres=tracks["genre"].to_numpy()[held]).loc["overall"]
                reached = next((i + 1 for i, row in enumerate(model.history) if row["val_accuracy"] >= 0.85), None)
                row = {"recipe": recipe, "seed": seed, "fold": spec.fold + 1,
                       "held_out_accuracy": round(float(correct.mean()), 4),
                       "recovery": round(float(found["recovery"]), 4), "chance": round(float(found["chance"]), 4),
                       "best_epoch": model.best_epoch, "epochs_run": len(model.history), "found_epoch": reached,
                       "seconds": round(seconds / len(specs), 1), "trainer": config.trainer,
                       "machine": _machine(), "date": date.today().isoformat(), "commit": _commit()}
                _append(SCREEN, SCREEN_COLUMNS, row)
                cells.append(f"fold {row['fold']}: {row['held_out_accuracy']:.2f}, recovery {row['recovery']:.2f}")
            print(f"{recipe:>16} seed {seed}: " + "; ".join(cells) + f"; {seconds:.0f} s", flush=True)


def screen_table() -> None:
    """The screen's rows by recipe: folds, held-out accuracy (mean, lowest), folds under 0.85,
    recovery (mean, lowest) and its chance."""
    import pandas as pd

    rows = pd.read_csv(SCREEN)
    summary = rows.groupby("recipe").agg(
        models=("fold", "count"), seeds=("seed", "nunique"), accuracy=("held_out_accuracy", "mean"),
        lowest=("held_out_accuracy", "min"), under_085=("held_out_accuracy", lambda a: int((a < 0.85).sum())),
        recovery=("recovery", "mean"), recovery_lowest=("recovery", "min"), chance=("chance", "mean"))
    print(summary.sort_values("recovery", ascending=False).round(3).to_markdown())


def choose(recipes: list[str], seeds: list[int]) -> str:
    """The recipe the second round keeps, by its rows on the selection seeds: among the recipes
    with every attention fold at 0.85 or more and out-of-fold accuracy 0.95 or more on every seed,
    the highest mean recovery of the planted moment; without such a recipe, the fewest folds under
    0.85, then the highest recovery. Prints the ranking."""
    import pandas as pd

    rows = pd.DataFrame(read_rows())
    rows = rows[rows["recipe"].isin(recipes) & rows["seed"].astype(int).isin(seeds)
                & (rows["ablation"] == "True")]
    numeric = rows.assign(**{c: pd.to_numeric(rows[c]) for c in ("oof_accuracy", "folds_below_0.85", "recovery")})
    ranking = numeric.groupby("recipe").agg(seeds=("seed", "count"), folds_below=("folds_below_0.85", "sum"),
                                            oof_min=("oof_accuracy", "min"), recovery=("recovery", "mean"))
    ranking = ranking[ranking["seeds"] == len(seeds)]
    if ranking.empty:
        raise SystemExit(f"No recipe of {recipes} has rows for every seed of {seeds}.")
    ranking["meets"] = (ranking["folds_below"] == 0) & (ranking["oof_min"] >= 0.95)
    ranking = ranking.sort_values(["meets", "folds_below", "recovery"], ascending=[False, True, False])
    print(ranking.round(3).to_markdown())
    return str(ranking.index[0])


def table(seeds: list[int] | None) -> None:
    import pandas as pd

    rows = pd.DataFrame(read_rows())
    if rows.empty:
        print("No rows yet.")
        return
    if seeds:
        rows = rows[rows["seed"].astype(int).isin(seeds)]
    shown = [c for c in COLUMNS if c not in ("machine", "date", "commit", "overrides")]
    print(rows[shown].to_markdown(index=False))
    numeric = rows.assign(**{c: pd.to_numeric(rows[c], errors="coerce") for c in
                             ("oof_accuracy", "lowest_fold", "folds_below_0.85", "recovery", "mean_pool_accuracy",
                              "mcnemar_p_mean")}, trainer=rows["trainer"].replace("", "one").fillna("one"))
    summary = numeric.groupby(["recipe", "ablation", "trainer"]).agg(
        seeds=("seed", "count"), oof_mean=("oof_accuracy", "mean"), oof_min=("oof_accuracy", "min"),
        lowest_fold=("lowest_fold", "min"), folds_below=("folds_below_0.85", "sum"),
        recovery_mean=("recovery", "mean"), recovery_min=("recovery", "min"),
        mean_pool=("mean_pool_accuracy", "mean"), attention_ahead_p05=("mcnemar_p_mean", lambda p: int((p < 0.05).sum())))
    print()
    print(summary.round(3).to_markdown())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command")
    go = sub.add_parser("run")
    go.add_argument("--recipes", required=True)
    go.add_argument("--seeds", required=True)
    go.add_argument("--ablation", action="store_true")
    joint = sub.add_parser("together")
    joint.add_argument("--recipes", required=True)
    joint.add_argument("--seeds", required=True)
    joint.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    joint.add_argument("--profile", default="default", help="another profile for a dry run (smoke)")
    look = sub.add_parser("screen")
    look.add_argument("--recipes", required=True)
    look.add_argument("--seeds", required=True)
    look.add_argument("--folds", default="1,2,3", help="1-based")
    look.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    sub.add_parser("screen-table")
    keep = sub.add_parser("record")
    keep.add_argument("--recipe", required=True)
    keep.add_argument("runs", nargs="+", type=Path)
    pick = sub.add_parser("choose")
    pick.add_argument("--recipes", required=True)
    pick.add_argument("--seeds", required=True)
    show = sub.add_parser("table")
    show.add_argument("--seeds")
    args = parser.parse_args()
    from paperlib.core.session import configure_environment

    configure_environment()  # caches (numba, JAX's compiled programs) before anything imports them
    if args.command is None:  # `make benchmark`: the table of what has been measured
        table(None)
    elif args.command == "screen":
        from paperlib.core.overrides import parse_sets

        screen(args.recipes.split(","), [int(s) for s in args.seeds.split(",")],
               [int(f) - 1 for f in args.folds.split(",")], parse_sets(args.set))
    elif args.command == "screen-table":
        screen_table()
    elif args.command == "record":
        record(args.recipe, args.runs)
    elif args.command == "choose":
        print(choose(args.recipes.split(","), [int(s) for s in args.seeds.split(",")]))
    elif args.command == "together":
        from paperlib.core.overrides import parse_sets

        together(args.recipes.split(","), [int(s) for s in args.seeds.split(",")], parse_sets(args.set),
                 args.profile)
    elif args.command == "run":
        run(args.recipes.split(","), [int(s) for s in args.seeds.split(",")], args.ablation)
    else:
        table([int(s) for s in args.seeds.split(",")] if args.seeds else None)


if __name__ == "__main__":
    main()

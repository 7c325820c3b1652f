"""How fast can a run's models train on this machine? Trainers side by side, in one invocation.

Run: `.venv/bin/python benchmarks/bench_training.py [--clips 300] [--epochs 3] [--models 7]
[--backends tensorflow,jax] [--designs one,vector] [--baseline DIR] [--repeat 2] [--set NAME=VALUE ...]`.
Trains the models of a 6-fold run (`--models 7`: 6 folds + the final model; 13: and 6 mean-pooling
folds; each fold model fits 5/6 x 0.88 of the clips) on random uint8 images of the real shape for
`--epochs` epochs each, validation included:
- one: the `one` trainer (`paperlib.model.program.train_together`): one compiled Keras model per
  pooling, each model's state swapped in for its epoch, `train_on_batch` per batch;
- vector: the `vector` trainer (`paperlib.model.vectorised.train_stacked`): every model a slot of
  stacked weights, one compiled epoch for all of them (JAX only; `jax.vmap` over the slots on a
  GPU, `jax.lax.map` on a CPU). Its compile seconds are reported apart;
- `--baseline DIR`: the `one` design of another checkout (its own bench_training.py, run with
  DIR first on the path), e.g. the commit before a change, in the same invocation.
Each row runs in its own child process; `--repeat 2` measures every row twice, alternating. Prints
a table: seconds, model-clips/s, notebook 03 of the default and paper profiles estimated from the
rate (trainings x epochs x fit clips; early stopping only shortens it), GFLOP/s (the training
step's floating-point operations per clip as XLA counts them, times the rate) and the peak
resident memory. Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

FOLDS = 6
# notebook 03: trainings (folds, final, the ablation's folds) x epochs at most x fit clips
WORKLOADS = {"default 03 (min)": 13 * 40 * 183, "paper 03 (min)": 13 * 40 * 733}
DESIGNS = ("one", "vector")


def _problem(clips: int, epochs: int, sets: dict, models: int = 7):
    from paperlib.core.config import Config
    from paperlib.core.registry import FINAL
    from paperlib.data.features import cut_tokens
    from paperlib.data.folds import assign_folds
    from paperlib.model.cross_validation import model_spec

    config = Config(folds=FOLDS, epochs=epochs, early_stopping_start=epochs, clips_per_genre=clips // 10, **sets)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (clips, config.n_mels, config.n_frames), dtype=np.uint8)
    labels = np.arange(clips) % 10
    folds = assign_folds(labels, folds=FOLDS, seed=config.seed)
    specs = [model_spec("attention", fold, labels, folds, config) for fold in [*range(FOLDS), FINAL]]
    specs += [model_spec("mean", fold, labels, folds, config) for fold in range(models - len(specs))]
    return config, cut_tokens(images, config), labels, specs


def step_flops(config) -> float:
    """Floating-point operations of one training step per clip (forward, backward, update), as
    XLA's cost analysis counts them for the network on JAX (any Keras backend trains the same
    network)."""
    code = ("import json, jax, jax.numpy as jnp, keras, numpy as np\n"
            "from paperlib.core.config import Config\n"
            "from paperlib.model.network import build_model\n"
            "from paperlib.model.recipe import compile_for_training\n"
            f"config = Config(**json.loads({json.dumps(json.dumps(config.to_dict()))}))\n"
            "model = build_model(config, 10); compile_for_training(model, config)\n"
            "model.optimizer.build(model.trainable_variables)\n"
            "tv = [v.value for v in model.trainable_variables]; nv = [v.value for v in model.non_trainable_variables]\n"
            "ov = [v.value for v in model.optimizer.variables]; b = config.batch_size\n"
            "x = jnp.zeros((b, config.n_tokens, config.n_mels, config.token_frames)); y = jnp.zeros(b, 'int32')\n"
            "def step(tv, nv, ov, x, y):\n"
            "    def loss(tv):\n"
            "        p, n = model.stateless_call(tv, nv, x, training=True)\n"
            "        return keras.losses.sparse_categorical_crossentropy(y, p).mean(), n\n"
            "    (l, n), g = jax.value_and_grad(loss, has_aux=True)(tv)\n"
            "    return model.optimizer.stateless_apply(ov, g, tv), n, l\n"
            "cost = jax.jit(step).lower(tv, nv, ov, x, y).compile().cost_analysis()\n"
            "cost = cost[0] if isinstance(cost, list) else cost\n"
            "print(cost['flops'] / b)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"})
    return float(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else float("nan")


def child(design: str, clips: int, epochs: int, sets: dict, models: int) -> dict:
    import tempfile

    from paperlib.core.session import configure_environment

    configure_environment()
    config, tokens, labels, specs = _problem(clips, epochs, sets, models)
    start = time.perf_counter()
    compile_seconds = None
    with tempfile.TemporaryDirectory() as folder:
        if design == "vector":
            from paperlib.model.vectorised import network_for, train_stacked

            train_stacked(specs, tokens, labels, config.replace(trainer="vector"),
                          Path(folder) / "checkpoint.npz", progress=False)
            compile_seconds = network_for(config.replace(trainer="vector"), 10).compile_seconds
        else:
            from paperlib.model.program import train_together

            train_together(specs, tokens, labels, config, Path(folder) / "checkpoint.npz", progress=False)
    seconds = time.perf_counter() - start
    import keras

    return {"seconds": seconds, "compile_seconds": compile_seconds,
            "model_clip_epochs": epochs * sum(len(s.fit) for s in specs),
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "backend": keras.backend.backend(), "device": _device()}


def _device() -> str:
    import keras

    if keras.backend.backend() == "jax":
        import jax

        return str(jax.devices()[0].platform)
    return "cpu"


def _measure(label: str, command: list[str], backend: str, cwd: Path | None = None,
             path: str | None = None) -> dict | None:
    env = {**os.environ, "KERAS_BACKEND": backend}
    if path:
        env["PYTHONPATH"] = path + os.pathsep + env.get("PYTHONPATH", "")
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=cwd)
    if done.returncode:
        print(f"  {label} on {backend} failed: {done.stderr[-1500:]}", file=sys.stderr)
        return None
    print(f"  measured {label} on {backend}", file=sys.stderr, flush=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=300)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--backends", default="tensorflow,jax",
                        help="Keras backends to measure, those that import (default both)")
    parser.add_argument("--designs", default="one,vector")
    parser.add_argument("--models", type=int, default=7, help="7 (folds + final) or up to 13 (+ mean-pooling folds)")
    parser.add_argument("--baseline", type=Path, help="another checkout whose `one` design runs beside")
    parser.add_argument("--repeat", type=int, default=1, help="measure every row this many times, alternating")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a parameter of the models, e.g. batch_norm=true (repeatable)")
    parser.add_argument("--child", choices=DESIGNS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    from paperlib.core.overrides import parse_sets

    sets = parse_sets(args.set)
    if args.child:
        print(json.dumps(child(args.child, args.clips, args.epochs, sets, args.models)))
        return
    backends = [b for b in args.backends.split(",")
                if subprocess.run([sys.executable, "-c", f"import {b}"], capture_output=True).returncode == 0]
    common = ["--clips", str(args.clips), "--epochs", str(args.epochs), *[f"--set={s}" for s in args.set]]
    cases = [(design, backend, [sys.executable, __file__, "--child", design, "--models", str(args.models),
                                *common], None, None)
             for backend in backends for design in args.designs.split(",") if design != "vector" or backend == "jax"]
    if args.baseline:
        baseline = args.baseline.resolve()
        cases += [(f"one at {baseline.name}", backend,
                   [sys.executable, str(baseline / "benchmarks" / "bench_training.py"), "--child", "one", *common],
                   baseline, str(baseline)) for backend in backends]
    rows = []
    for _ in range(args.repeat):
        for label, backend, command, cwd, path in cases:
            row = _measure(label, command, backend, cwd, path)
            if row is not None:
                rows.append((label, row))
    from paperlib.core.config import Config

    flops = step_flops(Config(**sets))
    print(f"{platform.machine()}, {os.cpu_count()} cores; {args.clips} clips, {args.models} models"
          f"{' (the baseline: 7)' if args.baseline else ''}, {args.epochs} epochs each; parameters "
          f"{sets or 'default'}; {flops / 1e6:.0f} MFLOP per clip and training step (XLA's count)")
    print("| design | backend | device | seconds | of which compiling | model-clips/s | "
          "model-clips/s after compiling | " + " | ".join(WORKLOADS) + " | GFLOP/s | peak memory (MB) |")
    print("|---|---|---|---:|---:|---:|---:|" + "---:|" * len(WORKLOADS) + "---:|---:|")
    for label, row in rows:
        rate = row["model_clip_epochs"] / row["seconds"]
        compiling = row.get("compile_seconds")
        steady = row["model_clip_epochs"] / (row["seconds"] - compiling) if compiling is not None else None
        estimates = " | ".join(f"{work / (steady or rate) / 60:.1f}" for work in WORKLOADS.values())
        print(f"| {label} | {row['backend']} | {row['device']} | {row['seconds']:.1f} | "
              f"{'' if compiling is None else f'{compiling:.1f}'} | {rate:.0f} | "
              f"{'' if steady is None else f'{steady:.0f}'} | {estimates} | {(steady or rate) * flops / 1e9:.1f} | "
              f"{row['peak_mb']:.0f} |")


if __name__ == "__main__":
    main()

"""Per-process setup that must not happen at import: cache folders, seeds, quiet logs, plot style."""

from __future__ import annotations

import logging
import os
import random
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np

from paperlib.core import paths
from paperlib.core.config import Config, load_profile
from paperlib.core.run_lock import join_run_folder


def configure_environment() -> dict[str, str]:
    """Point library caches (numba, matplotlib, keras, JAX's compiled programs, Jupyter, IPython)
    into the project cache.

    Only variables the user has not set are changed; call before importing librosa or keras.
    """
    cache = paths.cache_dir()
    wanted = {
        "NUMBA_CACHE_DIR": cache / "numba",
        "MPLCONFIGDIR": cache / "matplotlib",
        "KERAS_HOME": cache / "keras",
        "JAX_COMPILATION_CACHE_DIR": cache / "jax",
        "IPYTHONDIR": cache / "ipython",
        "JUPYTER_CONFIG_DIR": cache / "jupyter" / "config",
        "JUPYTER_DATA_DIR": cache / "jupyter" / "data",
        "JUPYTER_RUNTIME_DIR": cache / "jupyter" / "runtime",
    }
    for name, folder in wanted.items():
        if name not in os.environ:
            Path(folder).mkdir(parents=True, exist_ok=True)
            os.environ[name] = str(folder)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # the `vector` trainer's program compiles in seconds: keep it for the next run of its shapes
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.5")
    # every model of a run has its own compiled step: TensorFlow's retracing notes are noise here
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    # on a GPU, take the memory needed, not all of it (a notebook kernel may share the card)
    os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    # a resumed training ends where an uninterrupted one does only with deterministic GPU kernels
    os.environ.setdefault("XLA_FLAGS", "--xla_gpu_deterministic_ops=true")
    return {name: os.environ[name] for name in wanted}


# TensorFlow's C++ start-up lines, written before its log level applies (TF_CPP_MIN_LOG_LEVEL does
# not hide them on CPUs where oneDNN announces itself)
START_UP_NOISE = re.compile(r"absl::InitializeLog|oneDNN custom operations|cpu_feature_guard|"
                            r"This TensorFlow binary|TF_ENABLE_ONEDNN_OPTS")


def import_tensorflow_quietly() -> None:
    """Import TensorFlow (when it is Keras's backend) with the process's stderr captured, and pass
    on what it wrote except its start-up lines, so a command's terminal shows only the command's
    own output. Anything else TensorFlow writes then is kept."""
    if os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow" or "tensorflow" in sys.modules:
        return
    import tempfile

    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
            import keras  # noqa: F401
        except ImportError:
            pass  # the command says what is missing when it needs it
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        caught.seek(0)
        written = caught.read().decode(errors="replace").splitlines()
    kept = [line for line in written if not START_UP_NOISE.search(line)]
    if kept:
        print("\n".join(kept), file=sys.stderr)


def separate_numba_cache(name: str) -> None:
    """Give this process, and the processes it starts, a numba cache folder of its own (`name` in
    the usual one), for processes that run beside others: two processes writing numba's cache of
    librosa's gufuncs at once can leave an entry that crashes every later reader with a
    segmentation fault (numba issues 4807 and 10128). Call before numba is imported."""
    base = Path(os.environ.get("NUMBA_CACHE_DIR", paths.cache_dir() / "numba"))
    folder = base if base.name == name else base / name  # a second call (the next member) keeps it
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["NUMBA_CACHE_DIR"] = str(folder)


def start_notebook(profile: str, overrides: dict[str, Any] | None = None) -> Config:
    """A notebook's first step, the same in every notebook: its run's configuration (the profile
    with papermill's overrides), the run folder held for this kernel (`join_run_folder`: refused
    while another command or Jupyter server writes it), seeds and plot style (`setup`), and one
    line saying which run this is."""
    config = load_profile(profile, **(overrides or {}))
    join_run_folder(config.run_path())
    setup(config.seed)
    source = ("Kaggle images_original PNGs, the paper's input" if config.source == "images"
              else "log-mel from the audio")
    print(f"profile {config.profile!r}, dataset {config.dataset!r}, input {config.source!r} ({source}), "
          f"run folder {config.run_path()}")
    return config


def setup(seed: int = 42, *, plots: bool = True) -> None:
    """Start a notebook or script: caches, seeds (Python, NumPy, Keras) and the plot style."""
    configure_environment()
    random.seed(seed)
    np.random.seed(seed)
    import keras

    keras.utils.set_random_seed(seed)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        # TensorFlow configures its logger on first use, to INFO on stdout in a notebook kernel:
        # configure it now, then silence it (retracing notes of the run's many models are noise)
        tf.get_logger().setLevel(logging.ERROR)
    if plots:
        import seaborn as sns

        sns.set_theme(context="notebook", style="whitegrid")

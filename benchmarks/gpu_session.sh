#!/usr/bin/env bash
# One prepared session on a lent GPU machine (JAX and CUDA, no TensorFlow, no package registry):
# the wheels carried in .whl/ (see ../shared/STACK.md), then, in order of priority and while time
# is left: the training designs side by side (bench_training.py: one, vector), steps 01 and 03 of
# the default profile with the vector trainer twice (the second finds the caches), the second
# recipe round on the selection seeds (recipe_study.py together, then choose), the paper-sized
# step 03 (1000 synthetic clips) and the reported seeds. Everything lands in $OUT.
# DRY=1 runs the same stages on tiny shapes (to check the script on a CPU first).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpu-session-out}; mkdir -p "$OUT"
LIMIT=${LIMIT:-560}  # seconds for the whole script
exec > >(tee -a "$OUT/log.txt") 2>&1
PY=${PY:-python3}
if [ -d .whl ] && ! $PY -c "import keras" 2>/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="${PYTHONPATH:+$PYTHONPATH:}$PWD" PYTHONUNBUFFERED=1 KERAS_BACKEND=jax
export GENRE_SIGNATURES_CACHE=${GENRE_SIGNATURES_CACHE:-/tmp/gs-cache} GENRE_SIGNATURES_DATA=${GENRE_SIGNATURES_DATA:-/tmp/gs-data}
export GENRE_SIGNATURES_RUNS=/tmp/gs-runs RECIPE_STUDY_RUNS=/tmp/gs-study RECIPE_STUDY_RESULTS="$OUT/recipe-study.csv"
$PY -c "import jax, keras, librosa, pydantic, paperlib.model.vectorised; print('jax', jax.__version__, jax.devices(), 'keras', keras.__version__)" || exit 1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null

if [ "${DRY:-0}" = 1 ]; then
  BENCH="--clips 60 --epochs 2 --models 3"; TINY="--set clips_per_genre=6 --set folds=3 --set clip_seconds=10 --set epochs=3 --set early_stopping_start=1"
  PROFILE=smoke; SELECTION=100,101; REPORTED=42; RECIPES="bn-acc-20 mix-0.25"; PAPER="${TINY/clips_per_genre=6/clips_per_genre=8}"
else
  BENCH="--clips 300 --epochs 3 --models 13"; TINY=""; PROFILE=default
  SELECTION=100,101,102,103,104; REPORTED=42,7,1,3,5; RECIPES="bn-acc-20 warmup-20-mix-0.25 warmup-20 mix-0.25 masks mixup"
  PAPER="--set clips_per_genre=100"  # 1000 clips, as many as GTZAN
fi
left() { echo $((LIMIT - SECONDS)); }
stage() {  # stage NAME NEEDED_SECONDS COMMAND...: run when enough time is left, never past LIMIT
  local name=$1 need=$2; shift 2
  if [ "$(left)" -lt "$need" ]; then echo "== $name: skipped ($(left) s left, needs about $need)"; return 1; fi
  echo "== $name (at ${SECONDS} s)"; timeout "$(( $(left) - 5 ))" "$@"; local rc=$?
  echo "== $name: exit $rc (at ${SECONDS} s)"; return $rc
}
utilisation() { nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader -l 1 > "$OUT/$1" 2>/dev/null & echo $!; }

stage "training designs" 150 $PY benchmarks/bench_training.py --backends jax --designs vector,one $BENCH \
  | tee "$OUT/bench-training.md"
watch=$(utilisation gpu-step03.csv)
stage "default steps 01 and 03, vector, twice" 120 $PY benchmarks/bench_step03.py --profile $PROFILE \
  --set trainer=vector $TINY --repeat 2 | tee "$OUT/step03.md"
kill "$watch" 2>/dev/null
for recipe in $RECIPES; do
  stage "recipe $recipe on seeds $SELECTION" 75 $PY benchmarks/recipe_study.py together --profile $PROFILE \
    --recipes "$recipe" --seeds $SELECTION --set trainer=vector $TINY
done
chosen=$($PY benchmarks/recipe_study.py choose --recipes "$(echo $RECIPES | tr ' ' ,)" --seeds $SELECTION | tee "$OUT/choice.md" | tail -1)
echo "chosen: $chosen"
stage "paper-sized step 03 (1000 clips), vector" 120 $PY benchmarks/bench_step03.py --profile $PROFILE \
  --set trainer=vector $PAPER --repeat 1 | tee -a "$OUT/step03.md"
for recipe in $(echo "bn-acc-20 $chosen" | tr ' ' '\n' | awk '!seen[$0]++'); do
  stage "recipe $recipe on the reported seeds $REPORTED" 90 $PY benchmarks/recipe_study.py together --profile $PROFILE \
    --recipes "$recipe" --seeds $REPORTED --set trainer=vector $TINY
done
echo "done at ${SECONDS} s"

#!/usr/bin/env bash
# Where the time of one batch goes, layer by layer, in both frameworks: the ops network's own sections
# (learning-core-runner.jar profile: each layer's forward and backward pass, the loss, the updater), oneDNN's
# timings of the primitives run inside them (convolution forward, backward data, backward weights, the layout
# reorders around them, the matrix products: libnd4j's, and those the ops network drives directly, marked
# "direct"; DNNL_VERBOSE=1 ONEDNN_VERBOSE=1, in a second run so that its printing is not in the first), and
# PyTorch's operators (torch.profiler) on the same network, batch size and threads. Three phases: a training
# step of the base network (batch 128), featurizing (forward only, into float16, batch 256) and a step of model
# 2's head on those float16 features (batch 128; DL4J only). Prints the tables and writes
# bench/results/profile-<dataset>/profile.md.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

dataset=fashion-mnist data_dir= batches=30 warmup=5 build=1 pytorch=1 optimizer=adadelta
# the services' runtime settings (native-runtime.env, JVM flags) and apply_isa
. bench/runtime.sh
isa=native

usage() {
  cat <<USAGE
usage: bench/profile.sh [--dataset fashion-mnist|cifar-10] [--data-dir DIR] [--batches N] [--warmup N]
                        [--optimizer adadelta|adam] [--isa native|avx2] [--no-build] [--no-pytorch]
  --isa avx2: on an AVX-512 CPU, what an AVX2-only one would run (bench/runtime.sh says how)
USAGE
}
while [ $# -gt 0 ]; do
  case "$1" in
    --dataset) dataset=$2; shift 2 ;;
    --data-dir) data_dir=$2; shift 2 ;;
    --batches) batches=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --optimizer) optimizer=$2; shift 2 ;;
    --isa) isa=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --no-pytorch) pytorch=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "error: unknown option $1" >&2; usage >&2; exit 64 ;;
  esac
done
apply_isa "$isa"
[ "$pytorch" = 1 ] && require_pytorch_openblas "the PyTorch profile"
for n in "$batches" "$warmup"; do
  [[ "$n" =~ ^[0-9]+$ ]] || { echo "error: '$n' is not a number" >&2; exit 64; }
done
case "$dataset" in
  fashion-mnist) data_dir=${data_dir:-/usr/share/datasets/fashion-mnist} ;;
  cifar-10)
    if [ -z "$data_dir" ]; then
      data_dir=bench/.data/synthetic-cifar-10
      [ -f "$data_dir/SYNTHETIC" ] || /usr/bin/python3 bench/synthetic_cifar.py --out "$data_dir"
    fi ;;
  *) echo "error: --dataset must be fashion-mnist or cifar-10, got '$dataset'" >&2; exit 64 ;;
esac

out=bench/results/profile-$dataset
mkdir -p "$out"
rm -f "$out"/*.json "$out"/*.csv "$out"/profile.md
if [ "$build" = 1 ]; then
  echo "building learning-core ..."
  mvn -B -q -ntp -pl learning-core -am package -DskipTests
fi
logging=(-Dorg.slf4j.simpleLogger.defaultLogLevel=warn)
for phase in training featurizing head; do
  batch=128
  [ "$phase" = featurizing ] && batch=256
  common=(--phase "$phase" --batch-size "$batch" --warmup "$warmup" --batches "$batches")
  echo "DL4J $phase, batch $batch ..."
  java "${jvm[@]}" "${logging[@]}" -jar learning-core/target/learning-core-runner.jar profile \
    --dataset "$dataset" --data-dir "$data_dir" --optimizer "$optimizer" "${common[@]}" --out "$out/dl4j-$phase.json" >/dev/null
  # not for the head: its run featurizes images first, whose primitives would be counted with the head's
  if [ "$phase" != head ]; then
    echo "DL4J $phase with oneDNN's timings ..."
    # DNNL_VERBOSE for libnd4j's oneDNN, ONEDNN_VERBOSE for oneDNN's own library (OneDnnConvolution)
    DNNL_VERBOSE=1 ONEDNN_VERBOSE=1 java "${jvm[@]}" "${logging[@]}" -jar learning-core/target/learning-core-runner.jar profile \
      --dataset "$dataset" --data-dir "$data_dir" --optimizer "$optimizer" "${common[@]}" \
      --out "$out/dl4j-$phase-verbose.json" | grep -E '^(dnnl|onednn)_verbose,exec' > "$out/onednn-$phase.csv" || true
  fi
  # the head phase (model 2's head on float16 features) is DL4J's alone: bench/run.sh times PyTorch's head
  if [ "$pytorch" = 1 ] && [ "$phase" != head ]; then
    echo "PyTorch $phase, batch $batch ..."
    (cd bench && /usr/bin/python3 pytorch_profile.py --dataset "$dataset" --data-dir "$(cd "$repo" && realpath "$data_dir")" \
      --optimizer "$optimizer" --threads "$(nproc)" "${common[@]}" --out "$repo/$out/pytorch-$phase.json") >/dev/null
  fi
done
/usr/bin/python3 bench/profile_report.py "$out" "$warmup" "$batches" | tee "$out/profile.md"
echo "wrote $out/"

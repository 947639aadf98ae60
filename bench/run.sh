#!/usr/bin/env bash
# Feature Relay's benchmark: every phase of the reference experiment timed in DL4J (the ops network the
# services run, plus a few batches of DL4J's layer API) and in PyTorch, one after the other on this machine,
# with the same network, data, batch size and epochs. Prints one table (ratios DL4J/PyTorch and
# transfer/base, validation accuracy per epoch of both) and writes JSON, CSV and Markdown to the output
# directory (default bench/results).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

dataset=fashion-mnist data_dir=
epochs=3 batch_size=128 per_class=0 layer_api_batches=20 out=bench/results build=1 pytorch=1 rounds=1
threads=$(nproc)
# the services' runtime settings (native-runtime.env, JVM flags) and apply_isa
. bench/runtime.sh
isa=native

usage() {
  cat <<USAGE
usage: bench/run.sh [options]
  --dataset fashion-mnist|cifar-10
                            fashion-mnist (default): the base network, 2x32 filters on 28x28x1;
                            cifar-10: the reference article's network, 2x64 filters on 32x32x3
  --data-dir DIR            the dataset's files (default: Fashion-MNIST from /usr/share/datasets/fashion-mnist;
                            for cifar-10, synthetic CIFAR-10-format files that bench/synthetic_cifar.py writes
                            once to bench/.data (git-ignored): CIFAR-10 is not downloadable here)
  --epochs N                epochs of every model (default $epochs)
  --batch-size N            (default $batch_size)
  --per-class N             training images per class (default 0: all 6,000)
  --layer-api-batches N     batches of DL4J's layer-API network to time (default $layer_api_batches; 0 skips)
  --out DIR                 results (default $out)
  --rounds N                run both frameworks N times, alternating (default $rounds); the table gives each time's
                            median over the rounds and the range of the round-by-round ratios: on a shared virtual
                            machine whose speed moves from one minute to the next, each round compares the two in
                            the same few minutes
  --isa native|avx2         native (default): this CPU's best; avx2: on an AVX-512 CPU, run what an AVX2-only one
                            would (libnd4j's onednn-avx2 build, oneDNN, PyTorch and OpenBLAS capped at AVX2;
                            bench/runtime.sh says how)
  --no-build                use learning-core/target/learning-core-runner.jar as it is
  --no-pytorch              DL4J only
USAGE
}

while [ $# -gt 0 ]; do
  case "$1" in
    --dataset) dataset=$2; shift 2 ;;
    --data-dir) data_dir=$2; shift 2 ;;
    --epochs) epochs=$2; shift 2 ;;
    --batch-size) batch_size=$2; shift 2 ;;
    --per-class) per_class=$2; shift 2 ;;
    --layer-api-batches) layer_api_batches=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --isa) isa=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --no-pytorch) pytorch=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "error: unknown option $1" >&2; usage >&2; exit 64 ;;
  esac
done
apply_isa "$isa"
for n in "$epochs" "$batch_size" "$per_class" "$layer_api_batches" "$rounds"; do
  [[ "$n" =~ ^[0-9]+$ ]] || { echo "error: '$n' is not a number" >&2; exit 64; }
done

case "$dataset" in
  fashion-mnist)
    data_dir=${data_dir:-/usr/share/datasets/fashion-mnist}
    if [ ! -f "$data_dir/train-images-idx3-ubyte.gz" ]; then
      echo "error: no Fashion-MNIST in $data_dir (train-images-idx3-ubyte.gz is missing)." >&2
      echo "       Install it with: sudo apt-get install -y dataset-fashion-mnist, or pass --data-dir DIR." >&2
      exit 2
    fi
    export BENCH_DATA="Fashion-MNIST, $data_dir" ;;
  cifar-10)
    if [ -z "$data_dir" ]; then
      # timings depend on the shapes and counts (50,000 + 10,000 images of 32x32x3), not on what they show
      data_dir=bench/.data/synthetic-cifar-10
      [ -f "$data_dir/SYNTHETIC" ] || /usr/bin/python3 bench/synthetic_cifar.py --out "$data_dir"
      export BENCH_DATA="synthetic CIFAR-10-format data (bench/synthetic_cifar.py; CIFAR-10 cannot be downloaded here): timings stand for CIFAR-10's, accuracies do not"
    else
      export BENCH_DATA="CIFAR-10 binary files, $data_dir"
    fi
    if [ ! -f "$data_dir/data_batch_1.bin" ]; then
      echo "error: no CIFAR-10 binary files in $data_dir (data_batch_1.bin is missing)." >&2
      exit 2
    fi ;;
  *) echo "error: --dataset must be fashion-mnist or cifar-10, got '$dataset'" >&2; exit 64 ;;
esac
[ "$pytorch" = 1 ] && require_pytorch_openblas "the PyTorch reference"

mkdir -p "$out"
if [ "$build" = 1 ]; then
  echo "building learning-core ..."
  mvn -B -q -ntp -pl learning-core -am package -DskipTests
fi
common=(--epochs "$epochs" --batch-size "$batch_size" --per-class "$per_class")

[ "$rounds" -ge 1 ] || { echo "error: --rounds must be at least 1" >&2; exit 64; }
logging=(-Dorg.slf4j.simpleLogger.defaultLogLevel=warn -Dorg.slf4j.simpleLogger.log.io.featurerelay=info)
dl4j_rounds=() pytorch_rounds=()
for ((round = 1; round <= rounds; round++)); do
  suffix= of=
  if [ "$rounds" -gt 1 ]; then suffix=-$round of=", round $round of $rounds"; fi
  echo "DL4J: $epochs epochs, batch $batch_size$of ($(date -u +%H:%M:%S)) ..."
  java "${jvm[@]}" "${logging[@]}" -jar learning-core/target/learning-core-runner.jar \
    bench --dataset "$dataset" --data-dir "$data_dir" "${common[@]}" --layer-api-batches "$layer_api_batches" \
    --out "$out/dl4j$suffix.json"
  dl4j_rounds+=("$out/dl4j$suffix.json")
  if [ "$pytorch" = 1 ]; then
    echo "PyTorch: $epochs epochs, batch $batch_size$of ($(date -u +%H:%M:%S)) ..."
    /usr/bin/python3 bench/pytorch_reference.py --dataset "$dataset" --data-dir "$data_dir" "${common[@]}" \
      --threads "$threads" --out "$out/pytorch$suffix.json"
    pytorch_rounds+=("$out/pytorch$suffix.json")
  fi
done
reference=-
if [ "$rounds" -gt 1 ]; then
  /usr/bin/python3 bench/merge_rounds.py "$out/dl4j.json" "${dl4j_rounds[@]}"
  [ "$pytorch" = 1 ] && /usr/bin/python3 bench/merge_rounds.py "$out/pytorch.json" "${pytorch_rounds[@]}"
fi
[ "$pytorch" = 1 ] && reference="$out/pytorch.json"
echo
/usr/bin/python3 bench/report.py "$out/dl4j.json" "$reference" "$out/bench.csv" "$out/table.md"
echo
echo "wrote $out/dl4j.json, $out/pytorch.json, $out/bench.csv, $out/table.md"

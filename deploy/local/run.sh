#!/usr/bin/env bash
# Builds Feature Relay and runs the reference experiment on this machine: base model on Fashion-MNIST
# classes 0-4, then model 2 (frozen features + new head) and the from-scratch baseline on classes 5-9.
# Options are passed to the experiment (see --help); --data-dir DIR uses another copy of the dataset.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"

data_dir=/usr/share/datasets/fashion-mnist
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    --data-dir) data_dir=${args[$((i + 1))]:-} ;;
    --data-dir=*) data_dir=${args[$i]#--data-dir=} ;;
    -h|--help) help=1 ;;
  esac
done

for tool in java mvn; do
  if ! command -v "$tool" >/dev/null; then
    echo "error: $tool is not installed. On Debian: sudo apt-get install -y openjdk-17-jdk-headless maven" >&2
    exit 1
  fi
done

if [ -z "${help:-}" ] && [ ! -e "$data_dir/train-images-idx3-ubyte.gz" ] && [ ! -e "$data_dir/train-images-idx3-ubyte" ]; then
  if [ "$data_dir" = /usr/share/datasets/fashion-mnist ] && [ "$(id -u)" = 0 ]; then
    echo "Fashion-MNIST is missing: installing the Debian package dataset-fashion-mnist"
    apt-get install -y dataset-fashion-mnist || { apt-get update && apt-get install -y dataset-fashion-mnist; }
  else
    echo "error: no Fashion-MNIST files in $data_dir." >&2
    echo "Install them with: sudo apt-get install -y dataset-fashion-mnist" >&2
    echo "or pass --data-dir DIR holding train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz," >&2
    echo "t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz." >&2
    exit 1
  fi
fi

runner=learning-core/target/learning-core-runner.jar
if [ ! -f "$runner" ] || [ -n "$(find learning-core/src pom.xml learning-core/pom.xml -newer "$runner" -print -quit)" ]; then
  echo "Building (mvn -DskipTests package) ..."
  mvn -B -q -ntp -DskipTests package -pl learning-core -am
fi

# Heap for the data; javacpp caps ND4J's off-heap arrays.
exec java -Xmx2g -Dorg.bytedeco.javacpp.maxbytes=4G -Dorg.bytedeco.javacpp.maxphysicalbytes=7G \
  -jar "$runner" experiment "${args[@]}"

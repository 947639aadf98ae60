#!/usr/bin/env bash
# Feature Relay's scale-out benchmark: PostgreSQL, the Kafka broker, one trainer-service and one or two
# transfer-service replicas as processes on this machine (free loopback ports, a temporary run directory).
# Trains one base model, then measures the throughput of a queue of transfer jobs on 1 and on 2 replicas, the
# latency of GET /api/v1/transfers/{id} with concurrent readers on both replicas (idle and while one trains),
# and the takeover of a transfer whose replica is SIGKILLed in the middle of it (lease expiry, the survivor's
# claim, the next epoch resumed from the checkpoint). Prints one table and writes JSON and Markdown to
# bench/results/scale-out-<timestamp>.{json,md}. Every process it starts is stopped on exit, Ctrl-C included.
# The work is done by bench/scale_out.py (Python 3, standard library only).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

data_dir=learning-core/src/test/resources/fashion-mnist-sample
out=bench/results build=1 keep=0 run_dir=
py_args=()

usage() {
  cat <<USAGE
usage: bench/scale-out.sh [options]
  --data-dir DIR          Fashion-MNIST IDX files (default: the committed sample, $data_dir;
                          /usr/share/datasets/fashion-mnist for the full set, from apt's dataset-fashion-mnist)
  --jobs N                transfer jobs in each throughput phase (default 8; the service queues 16 at most)
  --job-epochs N          epochs of each of those jobs (default 1)
  --batch-size N          (default 32)        --optimizer adam|adadelta  (default adam)
  --lease SECONDS         featurerelay.jobs.lease of every replica (default 10; the services' default is 20)
  --takeover-epochs N     epochs of the transfer killed in the middle (default 3)
  --training-epochs N     epochs of the transfer that trains while latency is measured (default 30; cancelled after)
  --latency-seconds N     per latency phase (default 20)   --readers N  concurrent readers (default 8)
  --no-latency-training   measure latency while idle only
  --postgres-port N, --kafka-port N, --controller-port N, --trainer-port N
                          fixed ports instead of free ones (transfer replicas always get free ones)
  --run-dir DIR           where PostgreSQL, Kafka and the logs live (default: a new directory under /tmp, deleted
                          after a successful run; kept, with its logs, after a failure)
  --keep-run-dir          keep it after a successful run as well
  --out DIR               results (default $out)
  --no-build              use the jars as they are
USAGE
}

num() { [[ "$2" =~ ^[0-9]+$ ]] || { echo "error: $1 takes a number, not '$2'" >&2; exit 64; }; }
while [ $# -gt 0 ]; do
  case "$1" in
    --data-dir) data_dir=${2:?}; shift 2 ;;
    --jobs|--job-epochs|--batch-size|--lease|--takeover-epochs|--training-epochs|--latency-seconds|--readers|\
    --postgres-port|--kafka-port|--controller-port|--trainer-port)
      num "$1" "${2:-}"; py_args+=("$1" "$2"); shift 2 ;;
    --optimizer)
      case "${2:-}" in adam|adadelta) ;; *) echo "error: --optimizer takes adam or adadelta" >&2; exit 64 ;; esac
      py_args+=("$1" "$2"); shift 2 ;;
    --no-latency-training) py_args+=("$1"); shift ;;
    --run-dir) run_dir=${2:?}; shift 2 ;;
    --keep-run-dir) keep=1; shift ;;
    --out) out=${2:?}; shift 2 ;;
    --no-build) build=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "error: unknown option $1" >&2; usage >&2; exit 64 ;;
  esac
done

# --- prerequisites -------------------------------------------------------------------------------------------
python=/usr/bin/python3
[ -x "$python" ] || { echo "error: $python is missing (sudo apt-get install -y python3)" >&2; exit 1; }
for tool in java psql; do
  command -v "$tool" >/dev/null || {
    echo "error: $tool is not installed. On Debian: sudo apt-get install -y openjdk-17-jdk-headless postgresql" >&2
    exit 1
  }
done
if ! ls -d /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 && [ -z "${FEATURERELAY_PG_BIN:-}" ]; then
  echo "error: no PostgreSQL server in /usr/lib/postgresql/<major>/bin (sudo apt-get install -y postgresql)," >&2
  echo "       or set FEATURERELAY_PG_BIN to the directory holding postgres, initdb and pg_ctl" >&2
  exit 1
fi
if [ ! -e "$data_dir/train-images-idx3-ubyte.gz" ] && [ ! -e "$data_dir/train-images-idx3-ubyte" ]; then
  echo "error: no Fashion-MNIST files in $data_dir (train-images-idx3-ubyte.gz is missing)." >&2
  echo "       Full set: sudo apt-get install -y dataset-fashion-mnist, then --data-dir /usr/share/datasets/fashion-mnist" >&2
  exit 1
fi
data_dir=$(cd "$data_dir" && pwd)

jars=(trainer-service/target/quarkus-app/quarkus-run.jar transfer-service/target/quarkus-app/quarkus-run.jar
  deploy/local/kafka-broker/target/kafka-broker.jar deploy/local/postgres/target/local-postgres.jar)
missing=0
for jar in "${jars[@]}"; do [ -f "$jar" ] || missing=1; done
[ -d deploy/local/kafka-broker/target/lib ] && [ -d deploy/local/postgres/target/lib ] || missing=1
if [ "$build" = 1 ]; then
  command -v mvn >/dev/null || { echo "error: mvn is not installed (sudo apt-get install -y maven)" >&2; exit 1; }
  # stale: a jar is missing, or a pom or main source is newer than the oldest jar
  stale=$missing
  if [ "$stale" = 0 ]; then
    oldest=$(ls -tr "${jars[@]}" | head -1)
    if [ -n "$(find . \( -path ./run -o -path ./bench/results -o -name target -o -name .git \) -prune -o \
      \( -name pom.xml -o -path '*/src/main/*' \) -type f -newer "$oldest" -print -quit)" ]; then
      stale=1
    fi
  fi
  if [ "$stale" = 1 ]; then
    echo "Building (mvn -B -ntp -q -DskipTests package; the first build downloads the dependencies) ..."
    build_log=$(mktemp -t featurerelay-build.XXXXXX.log)
    if ! mvn -B -ntp -q -DskipTests package >"$build_log" 2>&1; then
      tail -40 "$build_log" >&2
      echo "error: the build failed; its log: $build_log" >&2
      exit 1
    fi
    rm -f "$build_log"
  fi
elif [ "$missing" = 1 ]; then
  echo "error: a jar or its lib/ is missing (${jars[*]}); run without --no-build" >&2
  exit 1
fi

# --- the run -----------------------------------------------------------------------------------------------
if [ -z "$run_dir" ]; then
  run_dir=$(mktemp -d -t featurerelay-scale-out.XXXXXX)
  made_run_dir=1
else
  mkdir -p "$run_dir"
  made_run_dir=0
  [ -z "$(ls -A "$run_dir")" ] || { echo "error: --run-dir $run_dir is not empty" >&2; exit 1; }
fi
run_dir=$(cd "$run_dir" && pwd)

# the services' native runtime settings (glibc's allocator, libgomp), as deploy/local/run.sh sets them
set -a
. deploy/k8s/base/native-runtime.env
set +a

helper=
cleanup() {
  local status=$?
  trap - INT TERM EXIT
  if [ -n "$helper" ] && kill -0 "$helper" 2>/dev/null; then
    kill -TERM "$helper" 2>/dev/null || true
    wait "$helper" 2>/dev/null || true
  fi
  # whatever the helper started and did not stop (it was killed itself, say)
  if [ -f "$run_dir/pids" ]; then
    while read -r pid name; do
      if kill -0 "$pid" 2>/dev/null; then
        echo "stopping $name (pid $pid) ..." >&2
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        kill -KILL "$pid" 2>/dev/null || true
      fi
    done < <(tac "$run_dir/pids")
  fi
  if [ "$status" = 0 ] && [ "$keep" = 0 ] && [ "$made_run_dir" = 1 ]; then
    rm -rf "$run_dir"
  else
    echo "run directory (PostgreSQL, Kafka, logs): $run_dir" >&2
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$out"
"$python" bench/scale_out.py --run-dir "$run_dir" --out "$out" --data-dir "$data_dir" "${py_args[@]}" &
helper=$!
set +e
wait "$helper"
status=$?
set -e
helper=
exit "$status"

#!/usr/bin/env bash
# The whole system on this machine, in one command: builds Feature Relay, makes sure Fashion-MNIST is
# there, starts the real Kafka broker, a real PostgreSQL (Debian's binaries), trainer-service and
# transfer-service (one replica each, or --trainer-replicas/--transfer-replicas) and the dashboard, runs the
# default experiment (base model on classes 0-4, then model 2 and the from-scratch baseline on 5-9), shows
# progress, prints the comparison table and the dashboard URL, and keeps everything up until Ctrl-C, which stops
# every process it started (the services first, then PostgreSQL and Kafka). Logs go to RUN_DIR/logs (default
# run/logs); broker and database data stay in RUN_DIR, so that a second run reuses them. Where Debian's prometheus
# is installed, a Prometheus scrapes every replica and the dashboard reads its figures from it.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"

default_data_dir=/usr/share/datasets/fashion-mnist
dataset=fashion-mnist data_dir=
epochs=5 batch_size=128 optimizer=adadelta
# fine-tuning is off in the service's configuration and on in this experiment: one epoch after model 2's
fine_tune_epochs=1 learning_curve=0
kafka_port=9092 controller_port=9093 trainer_port=8081 transfer_port=8082 dashboard_port=8080 prometheus_port=9090
# 5433, not PostgreSQL's 5432: a system PostgreSQL (Debian's cluster "main") may well hold that one
postgres_port=5433
trainer_replicas=1 transfer_replicas=1
run_dir=run build=1 stay=1 prometheus=1

usage() {
  cat <<EOF
usage: deploy/local/run.sh [options]
  --dataset NAME          fashion-mnist (default), mnist, cifar-10 or image-folder
  --data-dir DIR          the dataset's files (default for fashion-mnist: $default_data_dir; the others need it:
                          IDX files, CIFAR-10 binary batches, or DIR/train/<class>/ and DIR/test/<class>/ images)
  --epochs N              epochs of every model (default 5)
  --batch-size N          (default 128)
  --optimizer NAME        adadelta or adam (default adadelta)
  --fine-tune-epochs N    fine-tuning epochs after model 2, every layer trainable (default 1; 0: none)
  --learning-curve        after the table, a learning curve from the same base: budgets 10, 100 and all
  --kafka-port N          (default 9092)      --controller-port N   (default 9093)
  --trainer-port N        (default 8081)      --transfer-port N     (default 8082)
  --dashboard-port N      (default 8080)      --postgres-port N     (default 5433)
  --prometheus-port N     (default 9090)      --no-prometheus       the dashboard reads the services itself
  --trainer-replicas N    trainer-service processes, replica i on --trainer-port + 2i (default 1)
  --transfer-replicas N   transfer-service processes, replica i on --transfer-port + 2i (default 1)
  --run-dir DIR           broker and database data, passwords and logs (default run)
  --no-build              use the jars as they are
  --exit-when-done        stop everything after printing the table (for CI)
EOF
}

while [ $# -gt 0 ]; do
  case "$1" in
    --dataset) dataset=$2; shift 2 ;;
    --data-dir) data_dir=$2; shift 2 ;;
    --epochs) epochs=$2; shift 2 ;;
    --batch-size) batch_size=$2; shift 2 ;;
    --optimizer) optimizer=$2; shift 2 ;;
    --fine-tune-epochs) fine_tune_epochs=$2; shift 2 ;;
    --learning-curve) learning_curve=1; shift ;;
    --kafka-port) kafka_port=$2; shift 2 ;;
    --controller-port) controller_port=$2; shift 2 ;;
    --trainer-port) trainer_port=$2; shift 2 ;;
    --transfer-port) transfer_port=$2; shift 2 ;;
    --dashboard-port) dashboard_port=$2; shift 2 ;;
    --postgres-port) postgres_port=$2; shift 2 ;;
    --prometheus-port) prometheus_port=$2; shift 2 ;;
    --no-prometheus) prometheus=0; shift ;;
    --trainer-replicas) trainer_replicas=$2; shift 2 ;;
    --transfer-replicas) transfer_replicas=$2; shift 2 ;;
    --run-dir) run_dir=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --exit-when-done) stay=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "error: unknown option $1" >&2; usage >&2; exit 64 ;;
  esac
done
for n in "$epochs" "$batch_size" "$fine_tune_epochs" "$kafka_port" "$controller_port" "$trainer_port" "$transfer_port" \
  "$dashboard_port" "$postgres_port" "$prometheus_port" "$trainer_replicas" "$transfer_replicas"; do
  [[ "$n" =~ ^[0-9]+$ ]] || { echo "error: '$n' is not a number" >&2; exit 64; }
done
for n in "$trainer_replicas" "$transfer_replicas"; do
  [ "$n" -ge 1 ] || { echo "error: a service needs at least one replica, not $n" >&2; exit 64; }
done

for tool in java mvn curl; do
  if ! command -v "$tool" >/dev/null; then
    echo "error: $tool is not installed. On Debian: sudo apt-get install -y openjdk-17-jdk-headless maven curl" >&2
    exit 1
  fi
done

# --- the dataset ------------------------------------------------------------------------------------------
case "$dataset" in
  fashion-mnist) data_dir=${data_dir:-$default_data_dir} ;;
  mnist|cifar-10|image-folder)
    if [ -z "$data_dir" ] || [ ! -d "$data_dir" ]; then
      echo "error: --dataset $dataset needs --data-dir DIR holding its files (nothing here downloads data)" >&2
      exit 64
    fi ;;
  *) echo "error: unknown dataset '$dataset': fashion-mnist, mnist, cifar-10 or image-folder" >&2; exit 64 ;;
esac
if [ "$dataset" = fashion-mnist ] && [ ! -e "$data_dir/train-images-idx3-ubyte.gz" ] && [ ! -e "$data_dir/train-images-idx3-ubyte" ]; then
  if [ "$data_dir" = "$default_data_dir" ] && [ "$(id -u)" = 0 ]; then
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
data_dir=$(cd "$data_dir" && pwd)

# --- PostgreSQL's server binaries (Debian's postgresql package) ---------------------------------------------
if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null && [ -z "${FEATURERELAY_PG_BIN:-}" ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "PostgreSQL is missing: installing the Debian package postgresql"
    DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql ||
      { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql; }
    # the package starts a cluster "main" on 5432 where an init system lets it; this command starts its own
    if command -v pg_lsclusters >/dev/null; then
      pg_lsclusters -h | while read -r version cluster _ status _; do
        if [ "$status" = online ]; then pg_ctlcluster "$version" "$cluster" stop || true; fi
      done
    fi
  else
    echo "error: PostgreSQL's server binaries are missing (no /usr/lib/postgresql/<major>/bin/initdb)." >&2
    echo "Install them with:" >&2
    echo "sudo apt-get install -y postgresql" >&2
    exit 1
  fi
fi

# --- Prometheus (Debian's prometheus package), optional -----------------------------------------------------
# With it the dashboard reads its figures from a real Prometheus that scrapes every replica, as on Kubernetes;
# without it, from the services' /q/metrics directly.
if [ "$prometheus" = 1 ] && ! command -v prometheus >/dev/null; then
  echo "Prometheus is not installed (sudo apt-get install -y prometheus): the dashboard reads the services directly"
  prometheus=0
fi

# --- the build ----------------------------------------------------------------------------------------------
mkdir -p "$run_dir/logs"
run_dir=$(cd "$run_dir" && pwd)
logs=$run_dir/logs
jars=(trainer-service/target/quarkus-app/quarkus-run.jar transfer-service/target/quarkus-app/quarkus-run.jar
  dashboard/target/quarkus-app/quarkus-run.jar learning-core/target/learning-core-runner.jar
  deploy/local/kafka-broker/target/kafka-broker.jar deploy/local/postgres/target/local-postgres.jar)
stamp=$run_dir/.build-stamp
if [ "$build" = 1 ]; then
  stale=0
  for jar in "${jars[@]}"; do [ -f "$jar" ] || stale=1; done
  if [ "$stale" = 0 ] && { [ ! -f "$stamp" ] || [ -n "$(find . -path ./run -prune -o \( -name pom.xml -o -path '*/src/main/*' \) -newer "$stamp" -print -quit)" ]; }; then
    stale=1
  fi
  if [ "$stale" = 1 ]; then
    echo "Building (mvn -DskipTests install; the first build downloads the dependencies) ..."
    mvn -B -q -ntp -DskipTests install > "$logs/build.log" 2>&1 || { tail -40 "$logs/build.log" >&2; exit 1; }
    touch "$stamp"
  fi
fi
for jar in "${jars[@]}"; do
  [ -f "$jar" ] || { echo "error: $jar is missing; run without --no-build" >&2; exit 1; }
done

# --- ports -------------------------------------------------------------------------------------------------
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# replica i of a service listens on its port + 2i; replica 0 keeps the plain name
replica_name() { # service, index
  if [ "$2" = 0 ]; then echo "$1"; else echo "$1-$2"; fi
}
entries=("kafka:$kafka_port:--kafka-port" "kafka controller:$controller_port:--controller-port"
  "postgres:$postgres_port:--postgres-port" "dashboard:$dashboard_port:--dashboard-port")
if [ "$prometheus" = 1 ]; then
  entries+=("prometheus:$prometheus_port:--prometheus-port")
fi
for ((i = 0; i < trainer_replicas; i++)); do
  entries+=("$(replica_name trainer-service "$i"):$((trainer_port + 2 * i)):--trainer-port")
done
for ((i = 0; i < transfer_replicas; i++)); do
  entries+=("$(replica_name transfer-service "$i"):$((transfer_port + 2 * i)):--transfer-port")
done
declare -A port_owner=()
for entry in "${entries[@]}"; do
  IFS=: read -r name port flag <<<"$entry"
  if [ -n "${port_owner[$port]:-}" ]; then
    echo "error: port $port would serve both ${port_owner[$port]} and $name; choose another with $flag" >&2
    exit 64
  fi
  port_owner[$port]=$name
done
for entry in "${entries[@]}"; do
  IFS=: read -r name port flag <<<"$entry"
  if port_in_use "$port"; then
    echo "error: port $port (for $name) is in use on 127.0.0.1; stop what uses it or choose another with $flag" >&2
    exit 1
  fi
done
# the broker's storage remembers its controller endpoint: a kept data directory needs the same port
if [ -f "$run_dir/kafka/controller-port" ] && [ "$(cat "$run_dir/kafka/controller-port")" != "$controller_port" ]; then
  echo "error: $run_dir/kafka was formatted for controller port $(cat "$run_dir/kafka/controller-port");" \
    "use --controller-port $(cat "$run_dir/kafka/controller-port") or another --run-dir" >&2
  exit 1
fi

# --- processes ---------------------------------------------------------------------------------------------
pids=()
names=()
cleanup() {
  trap - INT TERM EXIT
  if [ ${#pids[@]} -gt 0 ]; then
    echo
    echo "Stopping ${names[*]} ..."
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
      kill -TERM "${pids[$i]}" 2>/dev/null || true
      for _ in $(seq 1 60); do kill -0 "${pids[$i]}" 2>/dev/null || break; sleep 0.5; done
      kill -KILL "${pids[$i]}" 2>/dev/null || true
    done
    echo "Stopped. Logs: $logs"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start() { # name, log, command...
  local name=$1 log=$2
  shift 2
  "$@" >"$log" 2>&1 &
  pids+=($!)
  names+=("$name")
}

await_ready() { # name, url, pid, log
  for _ in $(seq 1 240); do
    if ! kill -0 "$3" 2>/dev/null; then
      echo "error: $1 exited; the end of its log ($4):" >&2
      tail -30 "$4" >&2
      exit 1
    fi
    curl -fsS -o /dev/null "$2" 2>/dev/null && return 0
    sleep 0.5
  done
  echo "error: $1 did not become ready in 2 minutes; see $4" >&2
  exit 1
}

broker=deploy/local/kafka-broker/target
mkdir -p "$run_dir/kafka"
start kafka "$logs/kafka.log" java -Xmx192m -Xms32m -XX:+UseSerialGC -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
  -cp "$broker/kafka-broker.jar:$broker/lib/*" io.featurerelay.broker.LocalKafkaBroker \
  --data-dir "$run_dir/kafka" --port "$kafka_port" --controller-port "$controller_port"
echo "$controller_port" >"$run_dir/kafka/controller-port"

# PostgreSQL, the services' shared and durable state: one database, one role per service, each owning its schema.
# Each role's password is generated once (mode 600) and reused by every later run; LocalPostgres reads the files,
# and the services get them through their environment, so that no password shows in ps.
secrets=$run_dir/secrets
mkdir -p "$secrets"
chmod 700 "$secrets"
for role in trainer transfer; do
  if [ ! -s "$secrets/$role.password" ]; then
    (umask 077 && head -c 24 /dev/urandom | base64 | tr '+/' '-_' >"$secrets/$role.password")
  fi
done
# The envelope signing key of this run directory (the services refuse to start without one): the trainer signs
# with it, the transfer service accepts only envelopes signed with it. Generated once, like the passwords.
if [ ! -s "$secrets/signing.key" ]; then
  (umask 077 && head -c 32 /dev/urandom | base64 | tr '+/' '-_' >"$secrets/signing.key")
fi
pg=deploy/local/postgres/target
start postgres "$logs/postgres.log" java -Xmx64m -Xms16m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
  -cp "$pg/local-postgres.jar:$pg/lib/*" io.featurerelay.postgres.LocalPostgres \
  --data-dir "$run_dir/postgres" --port "$postgres_port" --database featurerelay \
  --role "trainer:$secrets/trainer.password" --role "transfer:$secrets/transfer.password" \
  --log "$logs/postgres-server.log"
postgres_pid=$!

for _ in $(seq 1 120); do port_in_use "$kafka_port" && break; sleep 0.5; done
port_in_use "$kafka_port" || { echo "error: the Kafka broker did not start; see $logs/kafka.log" >&2; exit 1; }
echo "Kafka broker        127.0.0.1:$kafka_port"
for _ in $(seq 1 180); do
  grep -q '^PostgreSQL ready' "$logs/postgres.log" 2>/dev/null && break
  if ! kill -0 "$postgres_pid" 2>/dev/null; then break; fi
  sleep 0.5
done
if ! grep -q '^PostgreSQL ready' "$logs/postgres.log" 2>/dev/null; then
  echo "error: PostgreSQL did not start; the end of $logs/postgres.log:" >&2
  tail -30 "$logs/postgres.log" >&2
  exit 1
fi
echo "PostgreSQL          127.0.0.1:$postgres_port/featurerelay (roles trainer, transfer)"

# the settings bench/ measured with (README, Performance): a 512 MB heap; ND4J's off-heap arrays capped at
# 900 MB (past it JavaCPP runs the GC, which frees dead arrays) and the whole process at 1.5 GB resident
ml=(-Xmx512m -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=30 -Dorg.bytedeco.javacpp.maxbytes=900m -Dorg.bytedeco.javacpp.maxphysicalbytes=1500m --add-modules=jdk.incubator.vector)
# glibc's allocator and libgomp, as the benchmark measured them (the file says why)
set -a
. deploy/k8s/base/native-runtime.env
set +a
bootstrap=-Dkafka.bootstrap.servers=127.0.0.1:$kafka_port
datasource=-Dquarkus.datasource.jdbc.url=jdbc:postgresql://127.0.0.1:$postgres_port/featurerelay
# The replica id (featurerelay.replica-id), the password and the signing key travel in the environment (ps shows
# neither secret). Replica i listens on the service's port + 2i, so that the default ports of both services
# interleave (8081, 8083, ... and 8082, 8084, ...); it logs to logs/SERVICE-i.log, and SERVICE.log stays the
# name of replica 0's log (a link to SERVICE-0.log). Every replica shares the service's state in PostgreSQL.
replica_log() { # service, index
  echo "$logs/$1-$2.log"
}
link_first_log() { # service
  ln -sfn "$1-0.log" "$logs/$1.log"
}
trainer_urls=() transfer_urls=() service_pids=() service_names=() service_logs=() service_urls=()
for ((i = 0; i < trainer_replicas; i++)); do
  port=$((trainer_port + 2 * i))
  QUARKUS_DATASOURCE_PASSWORD=$(cat "$secrets/trainer.password") FEATURERELAY_REPLICA_ID=trainer-$i \
    TRAINER_SIGNING_KEY=$(cat "$secrets/signing.key") \
    start "$(replica_name trainer-service "$i")" "$(replica_log trainer-service "$i")" \
    java "${ml[@]}" "$bootstrap" -Dquarkus.http.port="$port" \
    "$datasource" -Dquarkus.datasource.username=trainer \
    -Dtrainer.data-dir="$data_dir" \
    -jar trainer-service/target/quarkus-app/quarkus-run.jar
  trainer_urls+=("http://127.0.0.1:$port")
  service_pids+=($!) service_names+=("$(replica_name trainer-service "$i")")
  service_logs+=("$(replica_log trainer-service "$i")") service_urls+=("http://127.0.0.1:$port/api/v1/trainings")
done
link_first_log trainer-service
for ((i = 0; i < transfer_replicas; i++)); do
  port=$((transfer_port + 2 * i))
  QUARKUS_DATASOURCE_PASSWORD=$(cat "$secrets/transfer.password") FEATURERELAY_REPLICA_ID=transfer-$i \
    TRANSFER_SIGNING_KEYS=$(cat "$secrets/signing.key") \
    start "$(replica_name transfer-service "$i")" "$(replica_log transfer-service "$i")" \
    java "${ml[@]}" "$bootstrap" -Dquarkus.http.port="$port" \
    "$datasource" -Dquarkus.datasource.username=transfer \
    -Dtransfer.derived-target.epochs="$epochs" -Dtransfer.derived-target.batch-size="$batch_size" \
    -Dtransfer.derived-target.optimizer="$optimizer" \
    -Dtransfer.derived-target.fine-tune-epochs="$fine_tune_epochs" \
    -jar transfer-service/target/quarkus-app/quarkus-run.jar
  transfer_urls+=("http://127.0.0.1:$port")
  service_pids+=($!) service_names+=("$(replica_name transfer-service "$i")")
  service_logs+=("$(replica_log transfer-service "$i")") service_urls+=("http://127.0.0.1:$port/api/v1/transfers")
done
link_first_log transfer-service
join_urls() { local IFS=,; echo "$*"; }
dashboard_prometheus=()
if [ "$prometheus" = 1 ]; then
  # the project's scrape configuration, with this run's replicas as the targets of each service
  targets() { local t=() u; for u in "$@"; do t+=("'${u#http://}'"); done; local IFS=,; echo "${t[*]}"; }
  mkdir -p "$run_dir/prometheus"
  sed -e "s|\['127.0.0.1:8081'\]|[$(targets "${trainer_urls[@]}")]|" \
    -e "s|\['127.0.0.1:8082'\]|[$(targets "${transfer_urls[@]}")]|" \
    deploy/monitoring/prometheus.yml >"$run_dir/prometheus/prometheus.yml"
  start prometheus "$logs/prometheus.log" prometheus --config.file="$run_dir/prometheus/prometheus.yml" \
    --storage.tsdb.path="$run_dir/prometheus/data" --web.listen-address="127.0.0.1:$prometheus_port"
  prometheus_pid=$!
  dashboard_prometheus=(-Ddashboard.prometheus-url="http://127.0.0.1:$prometheus_port")
fi
start dashboard "$logs/dashboard.log" java -Xmx256m -Dquarkus.http.port="$dashboard_port" \
  -Ddashboard.trainer-url="$(join_urls "${trainer_urls[@]}")" \
  -Ddashboard.transfer-url="$(join_urls "${transfer_urls[@]}")" \
  "${dashboard_prometheus[@]}" \
  -jar dashboard/target/quarkus-app/quarkus-run.jar
dashboard_pid=$!
for ((i = 0; i < ${#service_pids[@]}; i++)); do
  url=${service_urls[$i]}
  await_ready "${service_names[$i]}" "${url%%/api/*}/q/health/ready" "${service_pids[$i]}" "${service_logs[$i]}"
  printf '%-19s %s\n' "${service_names[$i]}" "$url"
done
if [ "$prometheus" = 1 ]; then
  await_ready prometheus "http://127.0.0.1:$prometheus_port/-/ready" "$prometheus_pid" "$logs/prometheus.log"
  echo "Prometheus          http://127.0.0.1:$prometheus_port/"
fi
await_ready dashboard "http://127.0.0.1:$dashboard_port/q/health/ready" "$dashboard_pid" "$logs/dashboard.log"
echo "dashboard           http://localhost:$dashboard_port/"
echo "logs                $logs"
echo

# --- the experiment ----------------------------------------------------------------------------------------
# the base trains on the first half of the classes; transfer-service derives the target task from its envelope:
# the same data, the other half
if [ "$dataset" = image-folder ]; then
  class_count=$(find "$data_dir/train" -mindepth 1 -maxdepth 1 -type d | wc -l)
  [ "$class_count" -ge 3 ] || { echo "error: $data_dir/train needs at least 3 class folders" >&2; exit 64; }
else
  class_count=10
fi
half=$((class_count / 2))
base_classes=$(seq -s, 0 $((half - 1)) | sed 's/,/, /g')
describe_classes="0-$((half - 1))" describe_targets="$half-$((class_count - 1))"
body="{\"dataset\": \"$dataset\", \"dataDir\": \"$data_dir\", \"epochs\": $epochs, \"batchSize\": $batch_size,"
body+=" \"optimizer\": \"$optimizer\", \"classes\": [$base_classes]}"
# submitted to replica 0 and followed there (any replica answers for every job once the services share PostgreSQL)
answer=$(curl -sS -X POST -H 'Content-Type: application/json' -d "$body" \
  "http://127.0.0.1:$trainer_port/api/v1/trainings")
base=$(printf '%s' "$answer" | grep -o '"id":"[^"]*"' | head -1 | cut -d'"' -f4)
if [ -z "$base" ]; then
  echo "error: the trainer refused the training: $answer" >&2
  exit 1
fi
echo "Base training $base: $dataset classes $describe_classes, $epochs epochs, batch $batch_size, $optimizer; then" \
  "model 2, $fine_tune_epochs fine-tuning epoch(s) and the baseline on $describe_targets"
curve=()
if [ "$learning_curve" = 1 ]; then
  # 0 = every image; the curve's models train with the derived target's epochs, batch size and optimizer
  curve=(--learning-curve 10,100,0 --fine-tune-epochs "$fine_tune_epochs")
fi
# in the background and waited for, so that Ctrl-C reaches the trap at once and stops it with the rest
java -jar learning-core/target/learning-core-runner.jar follow --trainer "http://127.0.0.1:$trainer_port" \
  --transfer "http://127.0.0.1:$transfer_port" --base "$base" "${curve[@]}" > >(tee "$logs/result.txt") 2>&1 &
pids+=($!)
names+=(follow)
set +e
wait "$!"
outcome=$?
set -e
echo
echo "Dashboard: http://localhost:$dashboard_port/   Logs: $logs"
if [ "$stay" = 0 ]; then
  exit "$outcome"
fi
echo "Everything keeps running; press Ctrl-C to stop it."
while true; do sleep 1 & wait $!; done

#!/usr/bin/env bash
# Runs the real Apache Kafka broker (KRaft, single node, 127.0.0.1 only) in the foreground.
# Data stays in run/kafka (formatted on first start), so a second start finds its topics again.
#   deploy/local/kafka-broker.sh [--port 9092] [--controller-port 9093] [--data-dir run/kafka]
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
port=9092 controller_port=9093 data_dir=run/kafka
while [ $# -gt 0 ]; do
  case "$1" in
    --port) port=$2; shift 2 ;;
    --controller-port) controller_port=$2; shift 2 ;;
    --data-dir) data_dir=$2; shift 2 ;;
    *) echo "usage: $0 [--port N] [--controller-port N] [--data-dir DIR]" >&2; exit 64 ;;
  esac
done
module=deploy/local/kafka-broker/target
if [ ! -d "$module/lib" ] || [ ! -f "$module/kafka-broker.jar" ]; then
  mvn -B -q -ntp -DskipTests package -pl deploy/local/kafka-broker -am
fi
for p in "$port" "$controller_port"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    echo "error: port $p on 127.0.0.1 is in use; choose another with --port / --controller-port" >&2
    exit 1
  fi
done
echo "Kafka broker on 127.0.0.1:$port (controller $controller_port), data in $data_dir"
exec java -Xmx192m -Xms32m -XX:+UseSerialGC -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
  -cp "$module/kafka-broker.jar:$module/lib/*" io.featurerelay.broker.LocalKafkaBroker \
  --data-dir "$data_dir" --port "$port" --controller-port "$controller_port"

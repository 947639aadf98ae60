#!/usr/bin/env bash
# Runs a real PostgreSQL (Debian's binaries, 127.0.0.1 only) in the foreground, with the database "featurerelay"
# and one role per service (trainer, transfer), each allowed to create its own schema there. Data stays in
# run/postgres (created on first start), the roles' passwords in run/secrets/<role>.password (mode 600, generated
# once), so a second start finds everything again. As root, the server runs as the account featurerelay-pg.
#   deploy/local/postgres.sh [--port 5433] [--data-dir run/postgres] [--secrets-dir run/secrets]
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
port=5433 data_dir=run/postgres secrets=run/secrets
while [ $# -gt 0 ]; do
  case "$1" in
    --port) port=$2; shift 2 ;;
    --data-dir) data_dir=$2; shift 2 ;;
    --secrets-dir) secrets=$2; shift 2 ;;
    *) echo "usage: $0 [--port N] [--data-dir DIR] [--secrets-dir DIR]" >&2; exit 64 ;;
  esac
done
module=deploy/local/postgres/target
if [ ! -d "$module/lib" ] || [ ! -f "$module/local-postgres.jar" ]; then
  mvn -B -q -ntp -DskipTests package -pl deploy/local/postgres -am
fi
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "error: port $port on 127.0.0.1 is in use; choose another with --port" >&2
  exit 1
fi
exec java -Xmx64m -Xms16m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
  -cp "$module/local-postgres.jar:$module/lib/*" io.featurerelay.postgres.LocalPostgres \
  --data-dir "$data_dir" --port "$port" --database featurerelay \
  --role "trainer:$secrets/trainer.password" --role "transfer:$secrets/transfer.password"

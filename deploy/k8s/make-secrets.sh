#!/usr/bin/env bash
# Creates the files components/secrets generates the Secrets from (deploy/k8s/components/secrets/files/, mode 600,
# ignored by git): the envelope signing key, the keys transfer-service accepts (the same key; OLD,NEW during a
# rotation), the API token, and one PostgreSQL password per service. A file that exists is kept, so running it
# again changes nothing; delete a file to have it generated anew, or write your own value into it.
#   deploy/k8s/make-secrets.sh
#   kubectl apply -k deploy/k8s/overlays/single-node
set -euo pipefail
dir=$(cd "$(dirname "$0")" && pwd)/components/secrets/files
mkdir -p "$dir"
chmod 700 "$dir"
random() { head -c "$1" /dev/urandom | base64 | tr -d '\n=' | tr '+/' '-_'; }
write() { # name, value
  if [ ! -s "$dir/$1" ]; then
    (umask 077 && printf '%s' "$2" >"$dir/$1")
    echo "wrote $dir/$1"
  fi
}
write signing-key "$(random 32)"
# the key transfer-service accepts is the one the trainer signs with
write accepted-signing-keys "$(cat "$dir/signing-key")"
write api-token "$(random 32)"
write db-trainer-password "$(random 24)"
write db-transfer-password "$(random 24)"

#!/usr/bin/env bash
# The long soak: system-tests' SoakIT with more jobs than CI runs (CI: 100, about three minutes on two idle
# cores; here 1000 by default: 15 minutes idle, far more on shared cores). Builds what the test needs from this
# checkout (never installing into the local Maven repository), runs N small transfer jobs back to back with
# status readers on both services, and checks the same bounds on resident memory, heap after a full collection,
# threads, open files and direct buffers between the warm-up and the end. The figures are printed and left in
# system-tests/target/soak-figures.txt.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

jobs=1000
if [[ $# -gt 0 ]]; then
  case "$1" in
    --jobs) jobs=${2:?--jobs needs a number} ;;
    *) echo "usage: bench/soak.sh [--jobs N]   (default 1000)" >&2; exit 64 ;;
  esac
fi
[[ "$jobs" =~ ^[0-9]+$ ]] && (( jobs > 10 )) || { echo "--jobs must be a number above 10 (the warm-up)" >&2; exit 64; }

mvn -B -ntp -pl system-tests -am verify -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false \
  -Dit.test=SoakIT -Dfailsafe.failIfNoSpecifiedTests=false -Dsoak.jobs="$jobs"
cat system-tests/target/soak-figures.txt

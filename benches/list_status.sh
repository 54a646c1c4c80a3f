#!/usr/bin/env bash
# list_status.sh — `orch status` and `orch list` as whole processes against a queue of N
# PENDING tasks (built as pick_done.sh builds it: `orch init`, then one INSERT … SELECT;
# no QUEUE.md view): the median wall time of each command and its peak resident memory
# (`/usr/bin/time -v`).
#
# Usage: benches/list_status.sh            (N=100000 RUNS=20 by default)
#        N=1000000 RUNS=10 benches/list_status.sh
set -euo pipefail

N=${N:-100000}
RUNS=${RUNS:-20}

if ! command -v sqlite3 >/dev/null; then apt-get install -y sqlite3 >/dev/null; fi

. "$(dirname "$0")/lib.sh"

DIR="$WORK/q"
mkdir -p "$DIR"
(cd "$DIR" && "$ORCH" init >/dev/null)
sed -i 's/^file = "QUEUE.md".*/file = ""/' "$DIR/.orch/orch.toml"
insert_pending "$DIR/.orch/orch.db" "$N"

cd "$DIR"
"$ORCH" status >/dev/null # any migration runs here, untimed
echo "queue: $N PENDING tasks, orch $ORCH"
for cmd in "status" "list --status PENDING --limit 50" "list --status PENDING" "list --status PENDING --json"; do
    case "$cmd" in *--limit*) "$ORCH" list --help | grep -q -- --limit || { echo "$cmd: not supported"; continue; } ;; esac
    ms=$(median_ms "$ORCH $cmd")
    rss=$( { /usr/bin/time -v "$ORCH" $cmd >/dev/null; } 2>&1 | awk -F': ' '/Maximum resident/ {print $2}')
    printf '%-40s median %8s ms   peak RSS %7.1f MB\n' "orch $cmd" "$ms" "$(awk -v k="$rss" 'BEGIN {print k / 1024}')"
done

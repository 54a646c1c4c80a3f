#!/usr/bin/env bash
# view_pick.sh — what the QUEUE.md view costs a command on a queue with a long history:
# `orch pick` as a whole process against 100,000 tasks of which 99,000 are DONE, once
# with the view on (every change redraws QUEUE.md: the open tasks plus the newest
# `done_kept` DONE ones) and once without it (queue.file = ""). The view's share is the
# difference; it should not grow with the DONE history.
#
# Usage: benches/view_pick.sh            (N=100000 DONE=99000 RUNS=40 by default)
#        ORCH=/path/to/orch benches/view_pick.sh   (measure another build, e.g. an older one)
set -euo pipefail

N=${N:-100000}
DONE=${DONE:-99000}
RUNS=${RUNS:-40}

if ! command -v sqlite3 >/dev/null; then apt-get install -y sqlite3 >/dev/null; fi
. "$(dirname "$0")/lib.sh"
NOW_MS="CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"

# $N tasks in $1, the first $DONE of them DONE (finished one second apart), built by
# `orch init` and one INSERT … SELECT.
populate() {
    local dir=$1
    mkdir -p "$dir"
    (cd "$dir" && "$ORCH" init >/dev/null)
    sqlite3 "$dir/.orch/orch.db" <<SQL
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $N)
INSERT INTO tasks (id, prefix, num, status, priority, task, success_criteria, attempts, max_attempts,
                   created_at, updated_at, version)
SELECT printf('ORCH-%06d', i), 'ORCH', i, CASE WHEN i <= $DONE THEN 'DONE' ELSE 'PENDING' END, i % 3,
       'generated task number ' || i, '1) it is done', 0, 4, $NOW_MS - ($N - i) * 1000,
       $NOW_MS - ($N - i) * 1000, 1
FROM n;
SQL
    (cd "$dir" && "$ORCH" export >/dev/null)
}

populate "$WORK/view"
cp -r "$WORK/view" "$WORK/none"
sed -i 's/^file = "QUEUE.md".*/file = ""/' "$WORK/none/.orch/orch.toml"
rows=$(grep -c '^| ORCH-' "$WORK/view/QUEUE.md")
with=$(median_ms "$ORCH --home $WORK/view/.orch pick --owner bench")
without=$(median_ms "$ORCH --home $WORK/none/.orch pick --owner bench")
echo "$N tasks ($DONE DONE), view of $rows rows, $RUNS runs each"
echo "orch pick with the view     median $with ms"
echo "orch pick without the view  median $without ms"

#!/usr/bin/env bash
# pg_dispatchers.sh — claims per second on PostgreSQL with two dispatchers of eight
# workers each. Two homes (as two hosts would have) share one database; each runs
# `orch run --workers 8 --until-idle` over the same N tasks of a no-op worker, both
# started at once. The time is from their start to the exit of the last one; the figure
# is N / time (every task claimed, run, reported and finished through the gate), the
# median of RUNS runs, each on a fresh database with fresh tasks.
#
# Config of both homes: worker.command = ["true"], gate.compact_report = false (a no-op
# worker prints no report), dispatcher.hard_cap = 8 (the default cap is 5), queue.file =
# "" (no QUEUE.md view: rewriting a Markdown file per change is measured by the
# queue_md bench, not here).
#
# Server: ORCH_TEST_PG (a base URL such as `eval "$(.ci/postgres start)"` prints), or,
# when it is not set, a throwaway one started here with .ci/postgres and stopped at the
# end (ORCH_TEST_PG_FSYNC=on for durable commits). psql must be on PATH or in the
# server's bin folder.
#
# Usage: benches/pg_dispatchers.sh            (N=2000 RUNS=3 by default)
#        N=5000 RUNS=5 benches/pg_dispatchers.sh
set -euo pipefail

N=${N:-2000}
RUNS=${RUNS:-3}
WORKERS=8

. "$(dirname "$0")/lib.sh"
bench_pg
PSQL=$(command -v psql || echo "${ORCH_TEST_PG_BIN:-/usr/lib/postgresql/15/bin}/psql")
psql_do() { "$PSQL" -X -q -v ON_ERROR_STOP=1 "$@"; }

# A home in $1 for database $2, set up as described above.
home() {
    local dir=$1 url=$2 toml=$1/.orch/orch.toml
    mkdir -p "$dir"
    (cd "$dir" && "$ORCH" --db "$url" init >/dev/null)
    sed -i -e 's/^command = .*/command = ["true"]/' -e 's/^compact_report = .*/compact_report = false/' \
        -e 's/^file = .*/file = ""/' "$toml"
    # The first `hard_cap` is the dispatcher's (the second, the team's, stays 5).
    sed -i '0,/^hard_cap = /s/^hard_cap = .*/hard_cap = 8/' "$toml"
}

# One run: a new database with N PENDING tasks, two dispatchers; prints "SECONDS RUNS DONE".
one_run() {
    local i=$1 db url a b t0 t1 pa pb
    db="orch_bench_disp_$$_$i"
    psql_do "$BASE/postgres" -c "CREATE DATABASE $db"
    url="$BASE/$db"
    a="$WORK/run$i/host-a"
    b="$WORK/run$i/host-b"
    home "$a" "$url"
    home "$b" "$url"
    psql_do "$url" <<SQL
INSERT INTO tasks (id, prefix, num, status, priority, task, attempts, max_attempts, created_at, updated_at, version)
SELECT 'ORCH-' || lpad(i::text, 6, '0'), 'ORCH', i, 'PENDING', 1, 'no-op task ' || i, 0, 4,
       (extract(epoch FROM now()) * 1000)::bigint, (extract(epoch FROM now()) * 1000)::bigint, 1
FROM generate_series(1, $N) AS i;
SQL
    t0=$(date +%s%N)
    "$ORCH" --home "$a/.orch" --db "$url" run --workers "$WORKERS" --until-idle --quiet &
    pa=$!
    "$ORCH" --home "$b/.orch" --db "$url" run --workers "$WORKERS" --until-idle --quiet &
    pb=$!
    wait "$pa"
    wait "$pb"
    t1=$(date +%s%N)
    local stats
    stats=$(psql_do "$url" -At -c \
        "SELECT (SELECT count(*) FROM runs) || ' ' || (SELECT count(*) FROM tasks WHERE status = 'DONE')")
    psql_do "$BASE/postgres" -c "DROP DATABASE $db WITH (FORCE)"
    echo "$(awk -v d=$((t1 - t0)) 'BEGIN {printf "%.3f", d / 1e9}') $stats"
}

echo "PostgreSQL $("$PSQL" -X -At "$BASE/postgres" -c 'SHOW server_version'), $(nproc) cores," \
    "N=$N tasks, 2 dispatchers x $WORKERS workers of \`true\`, RUNS=$RUNS"
rates=()
for ((i = 1; i <= RUNS; i++)); do
    read -r secs runs done <<<"$(one_run "$i")"
    rate=$(awk -v n="$N" -v s="$secs" 'BEGIN {printf "%.0f", n / s}')
    echo "run $i: ${secs} s, $rate claims/s (tasks done $done/$N, runs $runs)"
    [ "$done" = "$N" ] || { echo "not every task finished" >&2; exit 1; }
    rates+=("$rate")
done
median=$(printf '%s\n' "${rates[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
echo "median: $median claims/s (2 dispatchers x $WORKERS workers, $N tasks)"

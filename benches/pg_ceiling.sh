#!/usr/bin/env bash
# pg_ceiling.sh — what this machine's PostgreSQL can do for a claim and a complete, without
# orch's client around it: pgbench runs the statements themselves (16 clients, 2 threads,
# prepared statements) on a fresh database with orch's schema and TASKS waiting tasks.
# Each transaction of pgbench's is one pass of a script in benches/pg_ceiling/, one claim
# and one complete, so its "tps" is claims per second:
#
#   orch.sql   orch's statements, round trip for round trip (see the script); compare
#              with `cargo bench -p orch-queue --bench pg_claims` (ORCH_BENCH_THREADS=16), which
#              sends them through orch's operations.
#   floor.sql  one statement for the claim and one for the complete, each its own
#              transaction: the least the work can be on this server — the ceiling.
#
# The median of RUNS runs of SECS seconds each per script. Server: ORCH_TEST_PG (a base URL
# such as `eval "$(.ci/postgres start)"` prints), or, when it is not set, a throwaway one
# started here and stopped at the end (ORCH_TEST_PG_FSYNC=on for durable commits).
#
# Usage: benches/pg_ceiling.sh                 (both scripts; RUNS=3 SECS=15 TASKS=200000)
#        CLIENTS=16 RUNS=5 benches/pg_ceiling.sh floor
set -euo pipefail

RUNS=${RUNS:-3}
SECS=${SECS:-15}
TASKS=${TASKS:-200000}
CLIENTS=${CLIENTS:-16}
SCRIPTS=("$@")
[ ${#SCRIPTS[@]} -gt 0 ] || SCRIPTS=(orch floor)

. "$(dirname "$0")/lib.sh"
bench_pg
BIN=${ORCH_TEST_PG_BIN:-/usr/lib/postgresql/15/bin}
PSQL=$(command -v psql || echo "$BIN/psql")
PGBENCH=$(command -v pgbench || echo "$BIN/pgbench")
psql_do() { "$PSQL" -X -q -v ON_ERROR_STOP=1 "$@"; }
# pgbench takes the password from the environment, not from the URL.
PASSWORD=$(sed -nE 's|^[a-z]+://[^:/@]+:([^@]*)@.*|\1|p' <<<"$BASE")

# One run of script $1: prints its claims per second.
one_run() {
    local script=$1 i=$2 db url out
    db="orch_ceiling_$$_${script}_$i"
    psql_do "$BASE/postgres" -c "CREATE DATABASE $db"
    url="$BASE/$db"
    mkdir -p "$WORK/$db"
    (cd "$WORK/$db" && "$ORCH" --db "$url" init >/dev/null) || { echo "orch init failed" >&2; exit 1; }
    psql_do "$url" <<SQL
INSERT INTO tasks (id, prefix, num, status, priority, task, attempts, max_attempts, created_at, updated_at, version)
SELECT 'ORCH-' || lpad(i::text, 6, '0'), 'ORCH', i, 'PENDING', 1, 'no-op task ' || i, 0, 4,
       (extract(epoch FROM now()) * 1000)::bigint, (extract(epoch FROM now()) * 1000)::bigint, 1
FROM generate_series(1, $TASKS) AS i;
VACUUM ANALYZE;
SQL
    out=$(PGPASSWORD=$PASSWORD "$PGBENCH" -n -M prepared -c "$CLIENTS" -j 2 -T "$SECS" \
        -f "$ROOT/benches/pg_ceiling/$script.sql" "$url" 2>&1) || { echo "$out" >&2; exit 1; }
    psql_do "$BASE/postgres" -c "DROP DATABASE $db WITH (FORCE)"
    sed -nE 's/^tps = ([0-9.]+).*/\1/p' <<<"$out" | awk '{printf "%.0f\n", $1}'
}

echo "PostgreSQL $("$PSQL" -X -At "$BASE/postgres" -c 'SHOW server_version'), $(nproc) cores," \
    "fsync $("$PSQL" -X -At "$BASE/postgres" -c 'SHOW fsync'), $CLIENTS clients, -j 2, $TASKS tasks, RUNS=$RUNS x ${SECS}s"
for script in "${SCRIPTS[@]}"; do
    rates=()
    for ((i = 1; i <= RUNS; i++)); do
        rates+=("$(one_run "$script" "$i")")
    done
    median=$(printf '%s\n' "${rates[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    echo "$script.sql: median $median claims/s (runs: ${rates[*]})"
done

# lib.sh — what the bench scripts share, sourced after their settings: ROOT, the release
# build (ORCH; one given in the environment is measured as it is), a work folder WORK
# removed at exit, and for the PostgreSQL benches `bench_pg`: the server named by
# ORCH_TEST_PG, or one of their own started now and stopped at exit (BASE is its URL);
# `median_ms`, a timing loop for machines without hyperfine; and `insert_pending`, which
# fills a queue with N PENDING tasks in one statement.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -z "${ORCH:-}" ]; then
    cargo build --quiet --release -p orch-queue --manifest-path "$ROOT/Cargo.toml"
    ORCH="$ROOT/target/release/orch"
fi
WORK=$(mktemp -d)
STARTED_SERVER=

bench_cleanup() {
    if [ -n "$STARTED_SERVER" ]; then "$ROOT/.ci/postgres" stop || true; fi
    rm -rf "$WORK"
}
trap bench_cleanup EXIT

bench_pg() {
    if [ -z "${ORCH_TEST_PG:-}" ]; then
        eval "$("$ROOT/.ci/postgres" start)"
        STARTED_SERVER=1
    fi
    BASE=${ORCH_TEST_PG%/}
}

# Median wall time in ms of RUNS runs of command $1, each after command $2 (untimed).
median_ms() {
    local cmd=$1 prep=${2:-} i s e
    local times=()
    for ((i = 0; i < RUNS; i++)); do
        if [ -n "$prep" ]; then sh -c "$prep" >/dev/null; fi
        s=$(date +%s%N)
        sh -c "$cmd" >/dev/null
        e=$(date +%s%N)
        times+=($(((e - s) / 1000)))
    done
    printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.2f", a[int((NR+1)/2)]/1000}'
}

# Inserts $2 PENDING tasks into the queue database $1 in one INSERT … SELECT (seconds for
# a million, not minutes): priorities mixed, a third with due times, ids ORCH-0000001….
insert_pending() {
    local now="CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"
    sqlite3 "$1" <<SQL
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $2)
INSERT INTO tasks (id, prefix, num, status, priority, task, success_criteria, due_at, attempts, max_attempts,
                   created_at, updated_at, version)
SELECT printf('ORCH-%07d', i), 'ORCH', i, 'PENDING', i % 3, 'generated task number ' || i,
       '1) it is done', CASE WHEN i % 3 = 0 THEN $now + i * 1000 END, 0, 4, $now, $now, 1
FROM n;
SQL
}

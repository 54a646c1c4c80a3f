# lib.sh — what the bench scripts share, sourced after their settings: ROOT, the release
# build (ORCH; one given in the environment is measured as it is), a work folder WORK
# removed at exit, and for the PostgreSQL benches `bench_pg`: the server named by
# ORCH_TEST_PG, or one of their own started now and stopped at exit (BASE is its URL);
# and `median_ms`, a timing loop for machines without hyperfine.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -z "${ORCH:-}" ]; then
    cargo build --quiet --release -p orch --manifest-path "$ROOT/Cargo.toml"
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

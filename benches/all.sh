#!/usr/bin/env bash
# all.sh — every benchmark, one after the other (never two at once: they would measure
# each other), each one's output kept in OUT (default target/bench-results/) as NAME.log.
# docs/BENCHMARKS.md says what each measures and holds the last figures.
#
# Usage: benches/all.sh                      (every bench)
#        benches/all.sh claim dispatch       (some of them, by name)
# PostgreSQL benches use ORCH_TEST_PG when set, else a throwaway server of their own.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$ROOT/target/bench-results}
mkdir -p "$OUT"
ALL=(queue_md claim mcp pick_done view_pick scale dispatch dashboard serve workspaces pg_claims pg_dispatchers pg_ceiling)
NAMES=("$@")
[ ${#NAMES[@]} -gt 0 ] || NAMES=("${ALL[@]}")

with_pg() {
    # The in-process PostgreSQL bench needs a server named in the environment.
    if [ -n "${ORCH_TEST_PG:-}" ]; then "$@"; return; fi
    eval "$("$ROOT/.ci/postgres" start)"
    "$@" || { "$ROOT/.ci/postgres" stop; return 1; }
    "$ROOT/.ci/postgres" stop
    unset ORCH_TEST_PG ORCH_TEST_PG_BIN ORCH_TEST_PG_DIR
}

for name in "${NAMES[@]}"; do
    echo "== $name ($(date -u +%H:%M:%S))" >&2
    case $name in
    queue_md | claim | mcp) cargo bench --quiet -p orch-queue --manifest-path "$ROOT/Cargo.toml" --bench "$name" ;;
    pg_claims) with_pg cargo bench --quiet -p orch-queue --manifest-path "$ROOT/Cargo.toml" --bench pg_claims ;;
    dispatch) TOOLS=${TOOLS:-"orch tsp pueue"} bash "$ROOT/benches/dispatch.sh" ;;
    pick_done | view_pick | scale | dashboard | serve | workspaces | pg_dispatchers | pg_ceiling) bash "$ROOT/benches/$name.sh" ;;
    *) echo "unknown bench $name (one of: ${ALL[*]})" >&2; exit 2 ;;
    esac 2>&1 | tee "$OUT/$name.log"
done

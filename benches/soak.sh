#!/usr/bin/env bash
# soak.sh — the soak test: a dispatcher under churn for SOAK_MINUTES (default 30), then the
# invariants of a drained queue. Not run by CI; docs/TEST_MATRIX.md holds the last summary.
#
#   SOAK_MINUTES=30 benches/soak.sh > soak.log 2>&1
#
# A worker that randomly succeeds, fails transiently (exit 75, exit 1, a report the gate
# sends back, a timeout), fails for good (exit 64, a declared permanent failure) and
# sleeps; a loop that adds tasks (some with dependencies, some sharing a resource),
# cancels, retries, and for the first two thirds of the time kills the dispatcher with
# SIGKILL (sometimes SIGTERM) and starts a new one; the last third keeps one dispatcher
# alive so its memory can be watched. Then the adds stop, the dispatcher is stopped,
# `orch run --until-idle` drains the queue and the checks run:
#   - no task IN_PROGRESS; every task DONE, BLOCKED, FAILED for good (retry_exhausted or
#     permanent), FAILED waiting for a retry, or PENDING behind a dependency not DONE;
#   - every DONE task has a run with its report;
#   - no run is left open and no worker process of the queue is alive;
#   - `PRAGMA integrity_check` is ok (sqlite3, else python3);
#   - `orch check` finds no drift; no CLI call of the churn loop exited 1 or 2;
#   - dispatcher RSS (sampled every 15 s): first, last and max, overall and for the
#     longest-lived dispatcher.
# Settings: SOAK_MINUTES, ORCH (a binary; default: the release build, built now),
# SOAK_SECONDS (overrides the minutes, for a short trial of the script), SOAK_DIR (the
# queue folder, kept afterwards; default: a new temporary folder).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MINUTES=${SOAK_MINUTES:-30}
if [ -z "${ORCH:-}" ]; then
    cargo build --quiet --release -p orch-queue --manifest-path "$ROOT/Cargo.toml" || exit 1
    ORCH="$ROOT/target/release/orch"
fi
DIR=${SOAK_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/orch-soak.XXXXXX")}
mkdir -p "$DIR"
cd "$DIR" || exit 1
export ORCH_HOME="$DIR/.orch"

say() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*"; }

sql() {
    if command -v sqlite3 >/dev/null; then
        sqlite3 "$ORCH_HOME/orch.db" "$1"
    else
        python3 - "$ORCH_HOME/orch.db" "$1" <<'PY'
import sqlite3, sys
for row in sqlite3.connect(sys.argv[1]).execute(sys.argv[2]):
    print("|".join("" if v is None else str(v) for v in row))
PY
    fi
}

"$ORCH" init >/dev/null || exit 1
cat >"$DIR/worker.sh" <<'EOF'
#!/usr/bin/env bash
# The soak worker: one random behaviour per attempt.
r=$((RANDOM % 100))
report() { printf -- '- %s attempt %s\n- %s\nRisks: none\n' "$ORCH_TASK_ID" "$ORCH_ATTEMPT" "$1"; }
if [ $r -lt 55 ]; then
    sleep "0.$((RANDOM % 9 + 1))"
    echo '{"orch":{"usage":{"input_tokens":100,"output_tokens":20,"cost_usd":0.001}}}'
    report "quick success"
elif [ $r -lt 62 ]; then
    sleep $((RANDOM % 4 + 1)); report "slow success"
elif [ $r -lt 72 ]; then
    echo "upstream busy" >&2; exit 75
elif [ $r -lt 78 ]; then
    echo "crashed" >&2; exit 1
elif [ $r -lt 82 ]; then
    echo "- a report without its risks section"
elif [ $r -lt 88 ]; then
    echo "bad input" >&2; exit 64
elif [ $r -lt 91 ]; then
    echo '{"orch":{"outcome":"fail","class":"permanent","reason":"soak: declared permanent"}}'
else
    sleep 30  # past worker.timeout: stopped, a transient `timeout`
fi
EOF
chmod +x "$DIR/worker.sh"
sed -i \
    -e "s|^command = .*|command = [\"$DIR/worker.sh\"]|" \
    -e 's|^timeout = .*|timeout = "8s"|' \
    -e 's|^grace = .*|grace = "2s"|' \
    -e 's|^lease = .*|lease = "20s"|' \
    -e 's|^backoff = .*|backoff = ["1s", "2s", "4s"]|' \
    "$ORCH_HOME/orch.toml"

TOTAL=${SOAK_SECONDS:-$((MINUTES * 60))} # SOAK_SECONDS: a short trial of the script itself
say "soak: $((TOTAL / 60)) min $((TOTAL % 60)) s, queue $DIR, binary $ORCH"
: >"$DIR/rss.tsv"
: >"$DIR/cli_errors.log"
DPID=
STARTED=0
STARTS=0
KILLS=0
TERMS=0
ADDS=0
CANCELS=0
RETRIES=0
CLI_BAD=0

start_dispatcher() {
    "$ORCH" run -q >>"$DIR/dispatcher.log" 2>&1 &
    DPID=$!
    STARTED=$SECONDS
    STARTS=$((STARTS + 1))
}

stop_dispatcher() { # $1: signal
    [ -n "$DPID" ] || return 0
    kill "-$1" "$DPID" 2>/dev/null
    local i
    for ((i = 0; i < 600; i++)); do
        kill -0 "$DPID" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 "$DPID" 2>/dev/null
    wait "$DPID" 2>/dev/null
    DPID=
}

# Runs an orch command of the churn loop; exit 0, 4 (not found) and 5 (conflict) are
# answers, anything else is a failure of the soak.
cli() {
    local rc
    "$ORCH" "$@" >/dev/null 2>>"$DIR/cli_stderr.log"
    rc=$?
    if [ $rc -ne 0 ] && [ $rc -ne 4 ] && [ $rc -ne 5 ]; then
        CLI_BAD=$((CLI_BAD + 1))
        echo "exit $rc: orch $*" >>"$DIR/cli_errors.log"
    fi
    return $rc
}

sample_rss() {
    [ -n "$DPID" ] || return 0
    local rss
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$DPID/status" 2>/dev/null) || return 0
    [ -n "$rss" ] && printf '%s\t%s\t%s\t%s\n' "$SECONDS" "$DPID" "$((SECONDS - STARTED))" "$rss" >>"$DIR/rss.tsv"
}

END=$((SECONDS + TOTAL))
CHAOS_END=$((SECONDS + TOTAL * 2 / 3))
next_kill=$((SECONDS + ${SOAK_KILL_MIN:-20} + RANDOM % 100))
next_rss=$SECONDS
next_report=$((SECONDS + 300))
start_dispatcher
while [ $SECONDS -lt $END ]; do
    n=$((RANDOM % 3))
    for ((k = 0; k < n; k++)); do
        args=(add "soak task $ADDS" --priority "P$((RANDOM % 3))" --criteria "1) it is done")
        num=$(sql "SELECT max(num) FROM tasks")
        if [ -n "$num" ] && [ $((RANDOM % 5)) -eq 0 ]; then
            args+=(--depends-on "$(printf 'ORCH-%03d' $((num - RANDOM % 5)))")
        fi
        [ $((RANDOM % 6)) -eq 0 ] && args+=(--resource "res$((RANDOM % 2))")
        cli "${args[@]}" && ADDS=$((ADDS + 1))
    done
    num=$(sql "SELECT max(num) FROM tasks")
    if [ -n "$num" ] && [ $((RANDOM % 10)) -eq 0 ]; then
        cli cancel "$(printf 'ORCH-%03d' $((RANDOM % num + 1)))" --reason soak && CANCELS=$((CANCELS + 1))
    fi
    if [ -n "$num" ] && [ $((RANDOM % 25)) -eq 0 ]; then
        cli retry "$(printf 'ORCH-%03d' $((RANDOM % num + 1)))" && RETRIES=$((RETRIES + 1))
    fi
    if [ $SECONDS -ge "$next_kill" ] && [ $SECONDS -lt $CHAOS_END ]; then
        if [ $((RANDOM % 5)) -eq 0 ]; then
            stop_dispatcher TERM
            TERMS=$((TERMS + 1))
        else
            stop_dispatcher KILL
            KILLS=$((KILLS + 1))
        fi
        sleep "$((RANDOM % 3)).$((RANDOM % 10))"
        start_dispatcher
        next_kill=$((SECONDS + ${SOAK_KILL_MIN:-20} + RANDOM % 100))
    fi
    if ! kill -0 "$DPID" 2>/dev/null; then
        wait "$DPID"
        say "dispatcher $DPID ended on its own (exit $?); see dispatcher.log"
        CLI_BAD=$((CLI_BAD + 1))
        start_dispatcher
    fi
    if [ $SECONDS -ge "$next_rss" ]; then
        sample_rss
        next_rss=$((SECONDS + 15))
    fi
    if [ $SECONDS -ge "$next_report" ]; then
        say "progress: $(sql "SELECT group_concat(status || '=' || n, ' ') FROM (SELECT status, count(*) n FROM tasks GROUP BY status)")"
        next_report=$((SECONDS + 300))
    fi
    sleep 1
done
sample_rss
say "adds stopped; stopping the dispatcher and draining"
stop_dispatcher TERM
for ((i = 0; i < 20; i++)); do
    "$ORCH" run -q --until-idle >>"$DIR/dispatcher.log" 2>&1 || {
        say "run --until-idle exited $?"
        CLI_BAD=$((CLI_BAD + 1))
    }
    waiting=$(sql "SELECT count(*) FROM tasks WHERE status = 'FAILED' AND retry_at IS NOT NULL")
    [ "$waiting" -eq 0 ] && break
    sleep 5
done

# ---- the invariants
FAILS=0
check() { # $1: what, $2: count of offenders
    if [ "$2" = 0 ]; then
        say "ok   $1"
    else
        say "FAIL $1: $2"
        FAILS=$((FAILS + 1))
    fi
}
check "no task IN_PROGRESS" "$(sql "SELECT count(*) FROM tasks WHERE status = 'IN_PROGRESS'")"
check "every FAILED task is retry_exhausted, permanent or waiting for its retry" "$(sql "
    SELECT count(*) FROM tasks t WHERE status = 'FAILED' AND retry_at IS NULL
      AND coalesce(notes, '') NOT LIKE '%retry_exhausted%'
      AND (SELECT class FROM runs r WHERE r.task_id = t.id ORDER BY started_at DESC LIMIT 1)
          IS NOT 'permanent'")"
check "every PENDING task waits for a dependency not DONE" "$(sql "
    SELECT count(*) FROM tasks t WHERE status = 'PENDING' AND NOT EXISTS (
      SELECT 1 FROM deps d LEFT JOIN tasks u ON u.id = d.depends_on
      WHERE d.task_id = t.id AND u.status IS NOT 'DONE')")"
check "every DONE task has a run with its report" "$(sql "
    SELECT count(*) FROM tasks t WHERE status = 'DONE' AND NOT EXISTS (
      SELECT 1 FROM runs r WHERE r.task_id = t.id AND r.outcome = 'done'
        AND coalesce(r.report, '') <> '')")"
check "no run left open" "$(sql "SELECT count(*) FROM runs WHERE ended_at IS NULL")"
alive=0
for env in /proc/[0-9]*/environ; do
    vars=$({ tr '\0' '\n' <"$env"; } 2>/dev/null) || continue
    if grep -qx "ORCH_HOME=$ORCH_HOME" <<<"$vars" && grep -q '^ORCH_RUN_ID=' <<<"$vars"; then
        alive=$((alive + 1))
    fi
done
check "no worker process alive" "$alive"
integrity=$(sql "PRAGMA integrity_check")
check "PRAGMA integrity_check ($integrity)" "$([ "$integrity" = ok ] && echo 0 || echo 1)"
"$ORCH" check >"$DIR/check.log" 2>&1
rc=$?
check "orch check: no drift (exit $rc)" "$([ $rc -eq 0 ] && echo 0 || echo 1)"
check "churn CLI calls that exited 1 or 2, dispatchers that ended on their own" "$CLI_BAD"

# ---- the summary
say "summary"
echo "  duration:         $TOTAL s of churn"
echo "  tasks added:      $ADDS (cancels $CANCELS, operator retries $RETRIES)"
echo "  dispatchers:      $STARTS started, $KILLS SIGKILLed, $TERMS SIGTERMed"
echo "  tasks by status:  $(sql "SELECT group_concat(status || '=' || n, ' ') FROM (SELECT status, count(*) n FROM tasks GROUP BY status)")"
echo "  runs by outcome:  $(sql "SELECT group_concat(coalesce(outcome, 'open') || '=' || n, ' ') FROM (SELECT outcome, count(*) n FROM runs GROUP BY outcome)")"
echo "  failure classes:  $(sql "SELECT group_concat(class || '=' || n, ' ') FROM (SELECT class, count(*) n FROM runs WHERE class IS NOT NULL GROUP BY class)")"
echo "  events:           $(sql "SELECT count(*) FROM events") in the database, $(wc -l <"$ORCH_HOME/events.jsonl") in events.jsonl"
wal=$(du -k "$ORCH_HOME/orch.db-wal" 2>/dev/null | cut -f1)
echo "  database:         $(du -k "$ORCH_HOME/orch.db" | cut -f1) KiB (+ WAL ${wal:-0} KiB)"
# RSS: samples taken in a dispatcher's first 30 s (still starting) are left out.
awk -F'\t' '
    $3 < 30 {next}
    {if (!n) first = $4; last = $4; if ($4 > max) max = $4; n++
     if (!($2 in f)) {f[$2] = $4; s[$2] = $3; lo[$2] = $4}
     l[$2] = $4; e[$2] = $3; if ($4 > m[$2]) m[$2] = $4; if ($4 < lo[$2]) lo[$2] = $4
     age[$2, ++k[$2]] = $3; rss[$2, k[$2]] = $4}
    END {
        for (p in f) if (e[p] - s[p] >= best) {best = e[p] - s[p]; bp = p}
        for (i = 1; i <= k[bp]; i++) {
            h = (age[bp, i] - s[bp] < best / 2) ? 1 : 2
            if (rss[bp, i] > hm[h]) hm[h] = rss[bp, i]
        }
        printf "  dispatcher RSS:   %d samples (past 30 s of age); first %d KiB, last %d KiB, max %d KiB\n", n, first, last, max
        printf "  longest-lived:    pid %s over %d s: first %d KiB, last %d KiB, min %d KiB, max %d KiB;", bp, best, f[bp], l[bp], lo[bp], m[bp]
        printf " max of its first half %d KiB, of its second half %d KiB\n", hm[1], hm[2]
    }' "$DIR/rss.tsv"
echo "  queue folder:     $DIR"
if [ "$FAILS" -eq 0 ]; then
    say "soak: all invariants hold"
else
    say "soak: $FAILS invariant(s) broken"
    exit 1
fi

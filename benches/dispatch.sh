#!/usr/bin/env bash
# dispatch.sh — the dispatcher's speed, side by side with pueue and task-spooler:
#
# 1. Throughput: N (1,000) tasks of `true` with 2 and with 8 workers, wall time from
#    "go" to "every task finished". Every tool keeps its defaults otherwise, and each
#    keeps every task's output in a file of its own (orch: .orch/runs/RUN_ID/stdout.log
#    and stderr.log; pueue: its task logs; tsp: its ts-out files).
#    - orch: a fresh home in a temporary folder (`orch init`, worker command ["true"],
#      `gate.compact_report = false` so an empty report passes, `dispatcher.hard_cap = 8`),
#      the N tasks imported in one `orch import` of a generated Markdown table (not
#      timed), then `orch run --workers W --until-idle` timed. The QUEUE.md view is on,
#      as `orch init` writes it (VIEW=0 sets `queue.file = ""`): that is orch as people
#      use it; the dispatcher rewrites the view twice a second, not per task. The
#      database keeps its settings (WAL, synchronous=FULL: every claim and every result
#      survives power loss), which neither pueue nor tsp promise.
#      A second figure, "import+run", adds the timed `orch import` of the N tasks: the
#      counterpart of tsp's enqueue+run below.
#    - pueue: its own daemon (config, state and socket under the temporary folder),
#      `pueue parallel W`, the default group paused, N `pueue add -- true` (not timed);
#      then `pueue start` timed until the last task's end as pueue records it (`pueue
#      wait` only polls every 2 s). pueue runs each command through `sh -c`, and its
#      daemon looks at its queue every 300 ms: that is what it is.
#    - task-spooler: its own server (TS_SOCKET, TMPDIR), `tsp -S W`. tsp keeps every
#      queued job as a waiting client process with a connection to its server, and the
#      server takes about 1,000 connections at most: N jobs cannot be queued ahead (with
#      nothing running, the 1,000th `tsp` waits for good). So its timed part is
#      enqueue+run, the clock started before the first submission: N `tsp true` in a
#      loop (each is the client that later starts its job, and a job starts as soon as
#      a slot is free), then a last job that needs all W slots (`tsp -N W true`, so it
#      starts only when everything before it ended) and `tsp -w` for it. It is set
#      against orch's import+run.
#    Each measurement is repeated RUNS times, the tools interleaved, and the medians
#    compared: "pueue/orch = Nx" is the tool's median over orch's (goal: 2x or more).
# 2. Add-to-start latency with an idle dispatcher: `orch run` (not --until-idle) on a
#    fresh home whose worker is `date +%s%N` (no shell: the worker's first act is to
#    read the clock, and its output is its report, .orch/runs/RUN_ID/stdout.log). LAT_N
#    (20) times, after a random pause of 200-400 ms: note the time, `orch add` a task,
#    wait for its worker's report; latency = the worker's clock minus the time noted
#    before `orch add` started. Nothing is subtracted: the `orch add` process (start,
#    commit, QUEUE.md refresh), the dispatcher's wake-up, claim and launch, and the
#    exec of `date` (about a millisecond, as for any worker) are all in it. Printed:
#    median and p90 (goal: median <= 20 ms), and the median split by the task's
#    created_at (taken by `orch add` before its commit) and its run's started_at (the
#    dispatcher's claim, millisecond resolution). The dispatcher is stopped with SIGTERM.
#    The latency home keeps its queue in its own SQLite file (woken by PRAGMA
#    data_version), or with LAT_DB set in that database instead, e.g. an empty PostgreSQL
#    one (woken by LISTEN/NOTIFY); the line printed names the store.
#
# Missing tools are installed: task-spooler with apt-get (as root), pueue with `cargo
# install --locked` into target/bench-tools/ (unless pueue and pueued are on PATH), jq
# with apt-get. Every process started is stopped and the temporary folder removed on
# exit. Temporary folders go under BENCH_TMP (default $TMPDIR or /tmp): on disk, as a
# queue would be; on tmpfs fsync costs nothing.
#
# Usage: benches/dispatch.sh               (N=1000 RUNS=3 WORKERS="2 8" LAT_N=20)
#        RUNS=5 TOOLS="orch tsp" benches/dispatch.sh
#        TOOLS=orch LAT_DB=postgres://USER:PASSWORD@HOST/EMPTY_DB benches/dispatch.sh
# Knobs: N, RUNS, WORKERS, LAT_N, TOOLS (any of orch pueue tsp; latency runs with orch),
#        VIEW (1: the QUEUE.md view, 0: queue.file = ""), BENCH_TMP, LAT_DB (the latency
#        home's database URL; default its own SQLite file).
# pueue is slow here (about N/W x 0.33 s per run): with the defaults the whole script
# takes about 15 minutes, nearly all of it pueue's.
set -euo pipefail

N=${N:-1000}
RUNS=${RUNS:-3}
WORKERS=${WORKERS:-"2 8"}
LAT_N=${LAT_N:-20}
LAT_DB=${LAT_DB:-}
TOOLS=${TOOLS:-"orch pueue tsp"}
VIEW=${VIEW:-1}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH_TMP=${BENCH_TMP:-${TMPDIR:-/tmp}}

has_tool() { [[ " $TOOLS " == *" $1 "* ]]; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_install() {
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get install -y -qq "$@" >/dev/null 2>&1 ||
        { as_root apt-get update -qq >/dev/null && as_root apt-get install -y -qq "$@" >/dev/null; }
}

# --- tools ----------------------------------------------------------------------------
if ! command -v jq >/dev/null; then apt_install jq; fi
TSP=""
if has_tool tsp; then
    for c in tsp ts; do # Debian names it tsp; `ts` may be moreutils' timestamper
        if command -v "$c" >/dev/null && "$c" -h 2>&1 | grep -q TS_SOCKET; then TSP=$(command -v "$c") && break; fi
    done
    if [ -z "$TSP" ]; then
        apt_install task-spooler
        TSP=$(command -v tsp)
    fi
fi
PUEUE="" PUEUED=""
if has_tool pueue; then
    if command -v pueue >/dev/null && command -v pueued >/dev/null; then
        PUEUE=$(command -v pueue) PUEUED=$(command -v pueued)
    else
        tools="$ROOT/target/bench-tools"
        if [ ! -x "$tools/bin/pueued" ]; then
            echo "installing pueue into $tools (cargo install --locked pueue) ..." >&2
            cargo install --quiet --locked --root "$tools" pueue >&2
        fi
        PUEUE="$tools/bin/pueue" PUEUED="$tools/bin/pueued"
    fi
fi
if [ -z "${ORCH:-}" ]; then
    cargo build --quiet --release -p orch-queue --manifest-path "$ROOT/Cargo.toml"
    ORCH="$ROOT/target/release/orch"
fi

# --- cleanup --------------------------------------------------------------------------
mkdir -p "$BENCH_TMP"
WORK=$(mktemp -d "$BENCH_TMP/orch-dispatch.XXXXXX")
LAT_PID=""
cleanup() {
    set +e
    if [ -n "$LAT_PID" ] && kill -0 "$LAT_PID" 2>/dev/null; then
        kill -TERM "$LAT_PID"
        wait "$LAT_PID"
    fi
    local cfg pid p
    for cfg in "$WORK"/pueue-*/pueue.yml; do
        [ -e "$cfg" ] || continue
        pid=$(cat "${cfg%/pueue.yml}/run/pueue.pid" 2>/dev/null)
        [ -n "$PUEUE" ] && "$PUEUE" -c "$cfg" shutdown >/dev/null 2>&1
        if [ -n "$pid" ]; then
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -KILL "$pid" 2>/dev/null
        fi
    done
    for sock in "$WORK"/tsp-*/socket; do
        [ -e "$sock" ] && [ -n "$TSP" ] && TS_SOCKET=$sock "$TSP" -K >/dev/null 2>&1
    done
    # tsp clients that outlived their server: only those started for this folder,
    # found by their environment.
    for p in /proc/[0-9]*; do
        if grep -qzsF "TS_SOCKET=$WORK/" "$p/environ" 2>/dev/null; then kill -KILL "${p#/proc/}" 2>/dev/null; fi
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- helpers --------------------------------------------------------------------------
now() { echo "$EPOCHREALTIME"; } # seconds, microsecond resolution, no process
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.3f", m }'; }
p90() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { i = int(NR * 0.9); if (i < NR * 0.9) i++; printf "%.3f", a[i] }'; }
ratio() { awk -v t="$1" -v o="$2" 'BEGIN { printf "%.1f", t / o }'; }
verdict() { awk -v r="$1" 'BEGIN { print (r >= 2 ? "met" : "missed") }'; }
# A pause without a process: `read` on a FIFO held open by this shell times out.
mkfifo "$WORK/never"
exec 9<>"$WORK/never"
pause() { read -r -t "$1" -u 9 || true; }

# The N tasks as a QUEUE.md table.
{
    echo "| id | status | priority | task |"
    echo "|---|---|---|---|"
    for ((i = 1; i <= N; i++)); do printf '| ORCH-%05d | PENDING | P1 | task %d |\n' "$i" "$i"; done
} >"$WORK/tasks.md"

# A fresh orch home in $1 with worker argv $2 (a TOML array).
orch_home() {
    local dir=$1 argv=$2 toml
    mkdir -p "$dir"
    (cd "$dir" && "$ORCH" init >/dev/null)
    toml="$dir/.orch/orch.toml"
    sed -i -e "/^\[worker\]/,/^\[/ s|^command = .*|command = $argv|" \
        -e 's/^compact_report = true/compact_report = false/' \
        -e '/^\[dispatcher\]/,/^\[/ s/^hard_cap = 5$/hard_cap = 8/' "$toml"
    if [ "$VIEW" = 0 ]; then sed -i 's/^file = "QUEUE.md".*/file = ""/' "$toml"; fi
    grep -qxF "command = $argv" "$toml" && grep -qx 'compact_report = false' "$toml" && grep -qx 'hard_cap = 8' "$toml" ||
        { echo "could not edit $toml" >&2; exit 1; }
}

# --- one measurement per tool ---------------------------------------------------------
# Each prints "RUN_SECONDS [IMPORT+RUN_SECONDS]".
run_orch() {
    local w=$1 r=$2 dir="$WORK/orch-$w-$r" t0 t1 t2 n_done
    orch_home "$dir" '["true"]'
    t0=$(now)
    "$ORCH" --home "$dir/.orch" import "$WORK/tasks.md" >/dev/null
    t1=$(now)
    "$ORCH" --home "$dir/.orch" run --workers "$w" --until-idle --quiet
    t2=$(now)
    n_done=$("$ORCH" --home "$dir/.orch" status --json | jq '.by_status.DONE')
    [ "$n_done" = "$N" ] || { echo "orch: $n_done of $N tasks DONE" >&2; exit 1; }
    echo "$(sub "$t2" "$t1") $(sub "$t2" "$t0")"
}

run_pueue() {
    local w=$1 r=$2 dir="$WORK/pueue-$w-$r" cfg t0 last ok pid
    cfg="$dir/pueue.yml"
    mkdir -p "$dir/state" "$dir/run"
    cat >"$cfg" <<EOF
shared:
  pueue_directory: $dir/state
  runtime_directory: $dir/run
  use_unix_socket: true
  unix_socket_path: $dir/run/pueue.socket
EOF
    "$PUEUED" -c "$cfg" -d >/dev/null
    for _ in $(seq 100); do "$PUEUE" -c "$cfg" status >/dev/null 2>&1 && break; pause 0.1; done
    "$PUEUE" -c "$cfg" parallel "$w" >/dev/null
    "$PUEUE" -c "$cfg" pause >/dev/null
    for ((i = 0; i < N; i++)); do "$PUEUE" -c "$cfg" add -- true >/dev/null; done
    t0=$(now)
    "$PUEUE" -c "$cfg" start >/dev/null
    "$PUEUE" -c "$cfg" wait >/dev/null
    "$PUEUE" -c "$cfg" status --json >"$dir/status.json"
    ok=$(jq '[.tasks[] | select(.status.Done.result == "Success")] | length' "$dir/status.json")
    [ "$ok" = "$N" ] || { echo "pueue: $ok of $N tasks succeeded" >&2; exit 1; }
    last=$(date -d "$(jq -r '[.tasks[] | .status.Done.end] | max' "$dir/status.json")" +%s.%N)
    pid=$(cat "$dir/run/pueue.pid")
    "$PUEUE" -c "$cfg" shutdown >/dev/null
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; pause 0.05; done
    sub "$last" "$t0"
}

run_tsp() {
    local w=$1 r=$2 dir="$WORK/tsp-$w-$r" t0 t1 fin
    mkdir -p "$dir"
    (
        export TS_SOCKET="$dir/socket" TMPDIR="$dir" TS_MAXFINISHED=$((N + 10)) TS_SLOTS=$w
        "$TSP" -S "$w"
        t0=$(now)
        for ((i = 0; i < N; i++)); do "$TSP" true >/dev/null; done
        "$TSP" -N "$w" true >/dev/null
        "$TSP" -w >/dev/null
        t1=$(now)
        fin=$("$TSP" -l | awk 'NR > 1 && $2 == "finished" && $4 == 0' | wc -l)
        [ "$fin" = $((N + 1)) ] || { echo "tsp: $fin of $((N + 1)) jobs finished well" >&2; exit 1; }
        "$TSP" -K
        sub "$t1" "$t0"
    )
}

# --- throughput -----------------------------------------------------------------------
declare -A T
echo "dispatch: $N tasks of \`true\`, RUNS=$RUNS, $(nproc) cores, temp $WORK"
echo "  orch $("$ORCH" --version | awk '{print $2}') (view: $([ "$VIEW" = 0 ] && echo 'queue.file = ""' || echo QUEUE.md))" \
    "$([ -n "$PUEUE" ] && echo "· $("$PUEUE" --version | head -1)")" \
    "$([ -n "$TSP" ] && echo "· $("$TSP" -V 2>&1 | head -1)")"
for ((r = 1; r <= RUNS; r++)); do
    for w in $WORKERS; do
        if has_tool orch; then
            res=$(run_orch "$w" "$r")
            read -r run all <<<"$res"
            T[orch,$w]+="$run " T[orch+,$w]+="$all "
            echo "  run $r W=$w orch $run s (import+run $all s)" >&2
        fi
        if has_tool tsp; then
            t=$(run_tsp "$w" "$r")
            T[tsp,$w]+="$t "
            echo "  run $r W=$w tsp $t s" >&2
        fi
        if has_tool pueue; then
            t=$(run_pueue "$w" "$r")
            T[pueue,$w]+="$t "
            echo "  run $r W=$w pueue $t s" >&2
        fi
    done
done

echo
for w in $WORKERS; do
    if has_tool orch; then
        # shellcheck disable=SC2086
        o=$(median ${T[orch,$w]}) oa=$(median ${T[orch+,$w]})
        printf 'W=%s  orch   %8.3f s  run          (runs: %s)\n' "$w" "$o" "${T[orch,$w]% }"
        printf 'W=%s  orch   %8.3f s  import+run   (runs: %s)\n' "$w" "$oa" "${T[orch+,$w]% }"
    fi
    for tool in pueue tsp; do
        has_tool "$tool" || continue
        # shellcheck disable=SC2086
        t=$(median ${T[$tool,$w]})
        if [ "$tool" = tsp ]; then what="enqueue+run" base=${oa:-}; else what="run        " base=${o:-}; fi
        if [ -n "$base" ]; then
            x=$(ratio "$t" "$base")
            cmp="$tool/orch = ${x}x, orch $(awk -v r="$x" 'BEGIN { print (r >= 1 ? "faster" : "slower") }') (goal >= 2x: $(verdict "$x"))"
        else
            cmp=""
        fi
        printf 'W=%s  %-5s  %8.3f s  %s  (runs: %s)  %s\n' "$w" "$tool" "$t" "$what" "${T[$tool,$w]% }" "$cmp"
    done
done

# --- add-to-start latency -------------------------------------------------------------
has_tool orch || exit 0
dir="$WORK/latency"
# Every orch command below (init too) reads ORCH_DB, as it would --db.
if [ -n "$LAT_DB" ]; then export ORCH_DB=$LAT_DB; fi
LAT_STORE=$([ -n "$LAT_DB" ] && echo "${LAT_DB%%://*}" || echo sqlite)
orch_home "$dir" '["date", "+%s%N"]'
H="$dir/.orch"
"$ORCH" --home "$H" run --quiet >"$WORK/latency.log" 2>&1 &
LAT_PID=$!
shopt -s nullglob
declare -A seen
STARTED=""
# Waits for a run folder not seen before to hold its worker's report; STARTED = the
# worker's clock (ns).
wait_started() {
    local f k
    for ((k = 0; k < 10000; k++)); do
        for f in "$H"/runs/*/stdout.log; do
            if [ -z "${seen[$f]:-}" ] && [ -s "$f" ]; then
                seen[$f]=1
                read -r STARTED <"$f"
                return
            fi
        done
        pause 0.001
    done
    echo "no worker started within 10 s" >&2
    exit 1
}
# The first task only shows that the dispatcher is up; it is not counted.
"$ORCH" --home "$H" add "warm-up" >/dev/null
wait_started
lat=() addt=() ids=() created=() starts=() t0s=()
for ((i = 1; i <= LAT_N; i++)); do
    pause "0.$((200 + RANDOM % 200))"
    t0=$(now)
    json=$("$ORCH" --home "$H" add "latency probe $i" --json)
    t1=$(now)
    wait_started
    lat+=("$(awk -v w="$STARTED" -v t="$t0" 'BEGIN { printf "%.3f", (w / 1e9 - t) * 1000 }')")
    addt+=("$(awk -v a="$t1" -v t="$t0" 'BEGIN { printf "%.3f", (a - t) * 1000 }')")
    ids+=("$(jq -r .id <<<"$json")") created+=("$(jq -r .created_at <<<"$json")")
    starts+=("$STARTED") t0s+=("$t0")
done
kill -TERM "$LAT_PID"
rc=0
wait "$LAT_PID" || rc=$?
LAT_PID=""
[ "$rc" = 0 ] || { echo "the dispatcher exited with $rc on SIGTERM" >&2; cat "$WORK/latency.log" >&2; exit 1; }

# The split: add started -> created_at (orch add) -> run started_at (claim) -> worker.
a=() b=() c=()
for ((i = 0; i < LAT_N; i++)); do
    cr=$(date -d "${created[$i]}" +%s.%N)
    claimed=$(date -d "$("$ORCH" --home "$H" log "${ids[$i]}" --json | jq -r '.[0].started_at')" +%s.%N)
    a+=("$(awk -v x="$cr" -v t="${t0s[$i]}" 'BEGIN { printf "%.3f", (x - t) * 1000 }')")
    b+=("$(awk -v c="$claimed" -v x="$cr" 'BEGIN { printf "%.3f", (c - x) * 1000 }')")
    c+=("$(awk -v w="${starts[$i]}" -v c="$claimed" 'BEGIN { printf "%.3f", (w / 1e9 - c) * 1000 }')")
done
echo
printf 'latency  add-to-start  median %.1f ms  p90 %.1f ms  (%d adds, %s; goal median <= 20 ms: %s)\n' \
    "$(median "${lat[@]}")" "$(p90 "${lat[@]}")" "$LAT_N" "$LAT_STORE" \
    "$(awk -v m="$(median "${lat[@]}")" 'BEGIN { print (m <= 20 ? "met" : "missed") }')"
printf 'latency  medians: add start -> created_at %.1f ms, -> claim %.1f ms, claim -> worker %.1f ms; `orch add` returned after %.1f ms\n' \
    "$(median "${a[@]}")" "$(median "${b[@]}")" "$(median "${c[@]}")" "$(median "${addt[@]}")"
echo "latency  all (ms): ${lat[*]}"

#!/usr/bin/env bash
# scale.sh — what one command costs on a fresh queue and on a queue of N (1,000,000)
# open tasks, each figure printed beside its goal (docs/BENCHMARKS.md, "At scale"):
#   add, pick, done with the QUEUE.md view on      median <= 2.8 ms (pueue's `add`), fresh and at N
#   status at N                                     median <= 5 ms
#   peak memory of add, pick, done, status, list    <= 30 MB at N (`export --all` excepted)
#   an idle `orch run` at N                         resident memory <= 30 MB
# The fresh queue holds as many tasks as its picks and dones take. The queue of N PENDING tasks (priorities mixed, a third with due times) is made by
# `orch init` and one INSERT … SELECT, then `orch export` writes its view. For the idle
# dispatcher, a copy of it has every task waiting for a retry a year away: nothing to
# claim, everything open. Times are hyperfine medians (RUNS runs after 3 warm-ups);
# memory is the peak resident size (`/usr/bin/time -f %M`), for `orch run` its
# resident size after IDLE_S seconds.
#
# Usage: benches/scale.sh                    (N=1000000 RUNS=20)
#        N=100000 RUNS=10 benches/scale.sh
set -euo pipefail

N=${N:-1000000}
RUNS=${RUNS:-20}
IDLE_S=${IDLE_S:-3}

if ! command -v sqlite3 >/dev/null; then apt-get install -y sqlite3 >/dev/null; fi
if ! command -v hyperfine >/dev/null; then apt-get install -y hyperfine >/dev/null; fi
if [ ! -x /usr/bin/time ]; then apt-get install -y time >/dev/null; fi

. "$(dirname "$0")/lib.sh"

NOW_MS="CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"

# A queue in $1 with $2 PENDING tasks, its view written.
populate() {
    local dir=$1 n=$2
    mkdir -p "$dir"
    (cd "$dir" && "$ORCH" init >/dev/null)
    # A plain command queue: `orch done` without a report passes the gate.
    sed -i 's/^compact_report = true/compact_report = false/' "$dir/.orch/orch.toml"
    insert_pending "$dir/.orch/orch.db" "$n"
    (cd "$dir" && "$ORCH" export >/dev/null)
}

# Median in ms of command $2 (hyperfine, no shell), after the untimed command $3 if any.
median() {
    local name=$1 cmd=$2 prep=${3:-} j="$WORK/h.json"
    local opts=(--warmup 3 --runs "$RUNS" --style none --export-json "$j" -n "$name")
    if [ -n "$prep" ]; then opts+=(--prepare "$prep"); else opts+=(-N); fi
    # hyperfine's warnings (outliers on a noisy machine) are kept out of the table.
    hyperfine "${opts[@]}" "$cmd" >/dev/null 2>"$WORK/hyperfine.err" || {
        cat "$WORK/hyperfine.err" >&2
        return 1
    }
    python3 -c 'import json,sys; print("%.2f" % (json.load(open(sys.argv[1]))["results"][0]["median"] * 1000))' "$j"
}

# Peak resident memory in MB of command $1.
peak_mb() {
    /usr/bin/time -o "$WORK/mem" -f %M sh -c "$1" >/dev/null 2>&1
    awk '{k = $1} END {printf "%.1f", k / 1024}' "$WORK/mem"
}

# Prints a figure beside its goal: name, value, unit, goal (a number: at most).
report() {
    awk -v n="$1" -v v="$2" -v u="$3" -v g="$4" \
        'BEGIN {printf "%-34s %9.2f %-2s  goal <= %g %s: %s\n", n, v, u, g, u, (v <= g ? "met" : "not met")}'
}

O() { echo "$ORCH --home $1/.orch"; }
prepare_done() {
    echo "$(O "$1") pick --owner bench | awk 'NR == 1 { id = \$1 } /ORCH_LEASE_TOKEN=/ { sub(/.*=/, \"\"); print id, \$0 }' > $1/cur"
}
done_cmd() { echo "read -r id tok < $1/cur; exec $(O "$1") done \"\$id\" --lease \"\$tok\""; }

echo "$(nproc) cores, $(hyperfine --version), N=$N, RUNS=$RUNS"
t0=$(date +%s%N)
# The fresh queue holds just what its picks and dones take.
populate "$WORK/fresh" $((2 * (RUNS + 3) + 5))
populate "$WORK/big" "$N"
echo "queues made in $((($(date +%s%N) - t0) / 1000000)) ms; view of the big one: $(wc -c <"$WORK/big/QUEUE.md") bytes"

for q in fresh big; do
    d="$WORK/$q"
    label=$([ "$q" = fresh ] && echo "fresh" || echo "at $N")
    report "add, view on, $label" "$(median add "$(O "$d") add bench-task")" ms 2.8
    report "pick, view on, $label" "$(median pick "$(O "$d") pick --owner bench")" ms 2.8
    report "done, view on, $label" "$(median done "$(done_cmd "$d")" "$(prepare_done "$d")")" ms 2.8
done
d="$WORK/big"
report "status at $N" "$(median status "$(O "$d") status")" ms 5
report "peak memory: add at $N" "$(peak_mb "$(O "$d") add bench-task")" MB 30
report "peak memory: pick at $N" "$(peak_mb "$(O "$d") pick --owner bench")" MB 30
eval "$(prepare_done "$d")"
report "peak memory: done at $N" "$(peak_mb "$(done_cmd "$d")")" MB 30
report "peak memory: status at $N" "$(peak_mb "$(O "$d") status")" MB 30
report "peak memory: list PENDING at $N" "$(peak_mb "$(O "$d") list --status PENDING")" MB 30

# The idle dispatcher: every task waits for a retry a year away.
cp -r "$WORK/big" "$WORK/idle"
sqlite3 "$WORK/idle/.orch/orch.db" \
    "UPDATE tasks SET status = 'FAILED', attempts = 1, retry_at = $NOW_MS + 31536000000 WHERE status <> 'DONE'"
(cd "$WORK/idle" && exec "$ORCH" run --workers 2 --quiet >/dev/null 2>&1) &
pid=$!
sleep "$IDLE_S"
rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
kill -TERM "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
report "idle orch run RSS at $N" "$(awk -v k="$rss" 'BEGIN {printf "%.1f", k / 1024}')" MB 30

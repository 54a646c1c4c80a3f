#!/usr/bin/env bash
# dashboard.sh — `orch dashboard` over a queue of N (100,000) PENDING tasks with 5
# running (leases held by `orch pick`), in a tmux terminal of its own (120×40), each
# figure printed beside its goal (docs/BENCHMARKS.md, "The dashboard"):
#   draw a frame                         median and p95 <= 16 ms (the dashboard's own
#                                        timings, ORCH_DASHBOARD_TIMINGS)
#   a commit to the change on screen     median and max <= 200 ms: `orch add -p P0` in
#                                        another process, then capture-pane polled until
#                                        the P0 PENDING count on screen moves
#   CPU of the idle dashboard            <= 1% of a core, from /proc/PID/stat over IDLE_S
#                                        seconds (leases held, so the 1 s tick runs)
# The queue is made by `orch init` and one INSERT … SELECT (lib.sh's insert_pending).
#
# Usage: benches/dashboard.sh               (N=100000 RUNS=20 IDLE_S=10)
set -euo pipefail

N=${N:-100000}
RUNS=${RUNS:-20}
IDLE_S=${IDLE_S:-10}

if ! command -v sqlite3 >/dev/null; then apt-get install -y sqlite3 >/dev/null; fi
if ! command -v tmux >/dev/null; then apt-get install -y tmux >/dev/null; fi

. "$(dirname "$0")/lib.sh"

SOCK="orch-bench-dashboard-$$"
SOCK_PATH="${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$SOCK"
trap 'tmux -L "$SOCK" kill-server 2>/dev/null || true; rm -f "$SOCK_PATH"; bench_cleanup' EXIT

cd "$WORK"
"$ORCH" init >/dev/null
insert_pending .orch/orch.db "$N"
"$ORCH" export >/dev/null
for i in 1 2 3 4 5; do "$ORCH" pick --owner "bench-$i" >/dev/null; done

screen() { tmux -L "$SOCK" capture-pane -p -t t; }
# The P0 PENDING count on screen.
p0_pending() { screen | awk '/^│P0 / {print $2; exit}'; }
now_us() { echo $(($(date +%s%N) / 1000)); }

tmux -L "$SOCK" -f /dev/null new-session -d -s t -x 120 -y 40 -c "$WORK" \
    "exec env ORCH_DASHBOARD_TIMINGS='$WORK/timings' '$ORCH' dashboard"
for _ in $(seq 1 500); do
    screen | grep -q "Fleet: 5 running" && break
    sleep 0.02
done
screen | grep -q "Fleet: 5 running" || { echo "the dashboard did not show the fleet:" >&2; screen >&2; exit 1; }
PID=$(tmux -L "$SOCK" display-message -p -t t '#{pane_pid}')

# A commit by another process to the change on screen.
lat=()
for ((i = 0; i < RUNS; i++)); do
    before=$(p0_pending)
    "$ORCH" add "bench $i" -p P0 >/dev/null
    s=$(now_us)
    until [ "$(p0_pending)" != "$before" ]; do :; done
    e=$(now_us)
    lat+=($((e - s)))
done

# Frames while moving through the list (each key reads a page and draws).
for _ in $(seq 1 30); do tmux -L "$SOCK" send-keys -t t j; sleep 0.05; done
for _ in $(seq 1 30); do tmux -L "$SOCK" send-keys -t t k; sleep 0.05; done
sleep 1

# CPU of the idle dashboard.
ticks() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
hz=$(getconf CLK_TCK)
c0=$(ticks)
sleep "$IDLE_S"
c1=$(ticks)

stats_ms() { sort -n | awk '{a[NR]=$1} END {printf "median %.2f ms, p95 %.2f ms, max %.2f ms (%d)", a[int((NR+1)/2)]/1000, a[int(NR*0.95+0.5)]/1000, a[NR]/1000, NR}'; }
echo "dashboard: $N tasks, 5 running, a 120x40 tmux terminal ($(date -u +%F))"
printf 'draw a frame          %s   goal <= 16 ms\n' "$(awk '$1 == "draw_us" {print $2}' timings | stats_ms)"
printf 'commit to screen      %s   goal <= 200 ms\n' "$(printf '%s\n' "${lat[@]}" | stats_ms)"
printf 'read after a change   %s   (part of the above)\n' "$(awk '$1 == "read_us" {print $2}' timings | stats_ms)"
awk -v d=$((c1 - c0)) -v hz="$hz" -v s="$IDLE_S" \
    'BEGIN {printf "idle CPU              %.2f%% of a core over %d s   goal <= 1%%\n", 100 * d / hz / s, s}'

#!/usr/bin/env bash
# serve.sh — `orch serve` over loopback on a SQLite queue of N (100,000) PENDING tasks,
# each figure printed beside its goal (docs/BENCHMARKS.md, "The HTTP server"):
#   GET /api/v1/tasks?status=PENDING&limit=100   p99 <= 10 ms at CONC (50) clients
#                                                (wrk --latency, DUR seconds), beside
#                                                GET /healthz under the same load: the
#                                                machine's own tail
#   POST /api/v1/tasks (add)                     >= 1,000/s (wrk, ADD_CONC clients,
#                                                ADD_DUR seconds; non-2xx answers shown)
#   a command's commit to its SSE event          <= 100 ms: `orch note` run RUNS times;
#                                                from the event's own time (`ts`, taken
#                                                in its transaction before the commit, so
#                                                an upper bound) to its arrival at a
#                                                client of GET /api/v1/events; and from
#                                                the command's start (process start-up
#                                                included; its own time shown beside)
#   RSS of the idle server                       <= 30 MB (/proc/PID/status VmRSS, after
#                                                start, just after the load, and idle
#                                                again 15 s later)
# wrk is installed with apt-get when missing; the SSE client is python3's http.client.
#
# Usage: benches/serve.sh        (N=100000 CONC=50 DUR=10 ADD_CONC=16 ADD_DUR=5 RUNS=20
#                                 WRK_THREADS=1 on two cores, else 2)
set -euo pipefail

N=${N:-100000}
CONC=${CONC:-50}
DUR=${DUR:-10}
ADD_CONC=${ADD_CONC:-16}
ADD_DUR=${ADD_DUR:-5}
RUNS=${RUNS:-20}

if ! command -v sqlite3 >/dev/null; then apt-get install -y sqlite3 >/dev/null; fi
if ! command -v wrk >/dev/null; then apt-get install -y wrk >/dev/null; fi

. "$(dirname "$0")/lib.sh"

SERVER=
trap '[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; bench_cleanup' EXIT

cd "$WORK"
"$ORCH" init >/dev/null
insert_pending .orch/orch.db "$N"
"$ORCH" export >/dev/null

"$ORCH" serve --addr 127.0.0.1:0 >serve.out 2>serve.err &
SERVER=$!
for _ in $(seq 1 500); do
    grep -q "listening on" serve.out 2>/dev/null && break
    sleep 0.02
done
U=$(sed -n 's/.*listening on \(http:[^ ]*\) .*/\1/p' serve.out)
[ -n "$U" ] || { echo "orch serve did not start:" >&2; cat serve.err >&2; exit 1; }
T=$(cat .orch/serve.token)
# wrk's threads (at most one a client): WRK_THREADS, else one on a machine of two cores
# or fewer, so that the client does not take every core from the server it measures
# (with two threads on two cores, the tail is the client's and the scheduler's), else two.
if [ -z "${WRK_THREADS:-}" ]; then
    if [ "$(nproc)" -le 2 ]; then WRK_THREADS=1; else WRK_THREADS=2; fi
fi
threads() { if [ "$1" -lt "$WRK_THREADS" ]; then echo "$1"; else echo "$WRK_THREADS"; fi; }
rss_mb() { awk '/^VmRSS:/ {printf "%.1f", $2 / 1024}' "/proc/$SERVER/status"; }

sleep 1
echo "queue: $N PENDING tasks; orch serve at $U ($ORCH); wrk threads: $WRK_THREADS on $(nproc) cores"
echo "idle RSS after start: $(rss_mb) MB (goal <= 30 MB)"

# GET: wrk's latency distribution.
wrk -t"$(threads "$CONC")" -c"$CONC" -d"${DUR}s" --latency -H "Authorization: Bearer $T" \
    "$U/api/v1/tasks?status=PENDING&limit=100" >get.txt
p50=$(awk '$1 == "50%" {print $2}' get.txt)
p99=$(awk '$1 == "99%" {print $2}' get.txt)
rps=$(awk '/^Requests\/sec/ {print $2}' get.txt)
bad=$(awk '/Non-2xx/ {print $5}' get.txt)
echo "GET /api/v1/tasks?status=PENDING&limit=100, $CONC clients: p50 $p50, p99 $p99 (goal p99 <= 10 ms), $rps req/s${bad:+, $bad non-2xx}"

# The machine's own floor: the same load on GET /healthz (no store, no token), whose
# tail is the machine's (scheduling, the network stack), not the server's work.
wrk -t"$(threads "$CONC")" -c"$CONC" -d"${DUR}s" --latency "$U/healthz" >floor.txt
fp50=$(awk '$1 == "50%" {print $2}' floor.txt)
fp99=$(awk '$1 == "99%" {print $2}' floor.txt)
frps=$(awk '/^Requests\/sec/ {print $2}' floor.txt)
echo "the floor, GET /healthz, $CONC clients: p50 $fp50, p99 $fp99, $frps req/s"

# POST: adds per second.
cat >post.lua <<'LUA'
wrk.method = "POST"
wrk.body = '{"task": "added by the benchmark", "priority": "P2"}'
wrk.headers["Content-Type"] = "application/json"
LUA
before=$(sqlite3 .orch/orch.db "SELECT count(*) FROM tasks")
wrk -t"$(threads "$ADD_CONC")" -c"$ADD_CONC" -d"${ADD_DUR}s" --latency -s post.lua -H "Authorization: Bearer $T" "$U/api/v1/tasks" >post.txt
after=$(sqlite3 .orch/orch.db "SELECT count(*) FROM tasks")
arps=$(awk '/^Requests\/sec/ {print $2}' post.txt)
ap99=$(awk '$1 == "99%" {print $2}' post.txt)
abad=$(awk '/Non-2xx/ {print $5}' post.txt)
echo "POST /api/v1/tasks, $ADD_CONC clients: $arps adds/s (goal >= 1,000/s), p99 $ap99, $((after - before)) tasks made${abad:+, $abad non-2xx}"

# SSE: a command's commit to the event on an open stream.
python3 - "$U" "$T" "$ORCH" "$RUNS" <<'PY'
import datetime, http.client, json, subprocess, sys, threading, time, queue
url, token, orch, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
host = url.split("//", 1)[1]
conn = http.client.HTTPConnection(host, timeout=30)
conn.request("GET", "/api/v1/events", headers={"Authorization": f"Bearer {token}"})
resp = conn.getresponse()
assert resp.status == 200, resp.status
seen = queue.Queue()
def read():
    while True:
        line = resp.fp.readline()
        if not line:
            return
        if line.startswith(b"data:"):
            now, at = time.perf_counter(), time.time()
            ts = json.loads(line[5:])["ts"].replace("Z", "+00:00")
            seen.put((now, (at - datetime.datetime.fromisoformat(ts).timestamp()) * 1000))
threading.Thread(target=read, daemon=True).start()
time.sleep(0.5)
lat, cmd, own = [], [], []
for i in range(runs):
    while not seen.empty():
        seen.get()
    t0 = time.perf_counter()
    subprocess.run([orch, "note", "ORCH-0000001", f"bench {i}"], check=True, stdout=subprocess.DEVNULL)
    t1 = time.perf_counter()
    t2, since_ts = seen.get(timeout=10)
    lat.append((t2 - t0) * 1000)
    own.append(since_ts)
    cmd.append((t1 - t0) * 1000)
    time.sleep(0.1)
lat.sort(); cmd.sort(); own.sort()
med = lambda v: v[len(v) // 2]
print(f"SSE: event's time (before its commit) to its arrival, {runs} runs: median {med(own):.1f} ms, "
      f"max {own[-1]:.1f} ms (goal <= 100 ms)")
print(f"SSE: `orch note` start to event, {runs} runs: median {med(lat):.1f} ms, max {lat[-1]:.1f} ms "
      f"(the command itself: median {med(cmd):.1f} ms)")
PY

sleep 1
echo "RSS after the load: $(rss_mb) MB"
sleep 14
echo "RSS idle again, 15 s after the load (its threads gone): $(rss_mb) MB (goal <= 30 MB)"

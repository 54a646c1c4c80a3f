#!/usr/bin/env bash
# pick_done.sh — `orch pick` and `orch done` as whole processes against a queue of
# 100,000 tasks, side by side with the sqlite3 shell running the same transactions on an
# identical copy of the database:
#   claim: BEGIN IMMEDIATE; select the first eligible task (the same query, through the
#          same partial index); update it; insert its run; insert its event; COMMIT
#   done:  BEGIN IMMEDIATE; read the task; update it (compare-and-set on the token);
#          end its run; insert its event; COMMIT
# Both use the database's settings (WAL, synchronous=FULL, a busy timeout). The goal is
# orch within 1.5x of the shell. The queue has no QUEUE.md view (queue.file = ""): a
# 100,000-row Markdown file rewritten by every command is not a per-command budget.
# A second, small run (1,000 tasks) measures the same commands with the view on.
#
# Usage: benches/pick_done.sh            (N=100000 RUNS=60 by default)
#        N=20000 RUNS=20 benches/pick_done.sh
set -euo pipefail

N=${N:-100000}
RUNS=${RUNS:-60}
VIEW_N=${VIEW_N:-1000}

if ! command -v sqlite3 >/dev/null; then apt-get install -y sqlite3 >/dev/null; fi
if ! command -v hyperfine >/dev/null; then apt-get install -y hyperfine >/dev/null 2>&1 || true; fi

. "$(dirname "$0")/lib.sh"

# The task columns orch reads (rows.rs TASK_COLS), so the shell reads as much.
COLS="id, status, priority, task, success_criteria, owner, started_at, due_at, notes, extra, attempts, \
max_attempts, retry_at, idempotency_key, resource, depends_on, lease_token, lease_expires_at, run_id, \
created_at, updated_at, version"
NOW_MS="CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"

# A queue of $2 PENDING tasks in $1 (priorities mixed, a third with due times), built by
# `orch init` and one INSERT … SELECT: seconds, not minutes.
populate() {
    local dir=$1 n=$2 view=$3
    mkdir -p "$dir"
    (cd "$dir" && "$ORCH" init >/dev/null)
    # A plain command queue: `orch done` without a report passes the gate.
    sed -i 's/^compact_report = true/compact_report = false/' "$dir/.orch/orch.toml"
    if [ "$view" = none ]; then sed -i 's/^file = "QUEUE.md".*/file = ""/' "$dir/.orch/orch.toml"; fi
    insert_pending "$dir/.orch/orch.db" "$n"
    if [ "$view" != none ]; then (cd "$dir" && "$ORCH" export >/dev/null); fi
}

# The shell's claim transaction. Prints "ID TOKEN".
cat >"$WORK/claim.sql" <<SQL
.timeout 30000
PRAGMA synchronous = FULL;
.parameter set @now "$NOW_MS"
.parameter set @tok "lower(hex(randomblob(16)))"
.parameter set @trace "lower(hex(randomblob(16)))"
.parameter set @run "lower(hex(randomblob(16)))"
BEGIN IMMEDIATE;
CREATE TEMP TABLE c AS SELECT $COLS FROM tasks t INDEXED BY tasks_claim
 WHERE t.status IN ('PENDING', 'FAILED')
   AND (t.status = 'PENDING' OR (t.retry_at IS NOT NULL AND t.retry_at <= @now))
   AND NOT EXISTS (SELECT 1 FROM deps d LEFT JOIN tasks p ON p.id = d.depends_on
                   WHERE d.task_id = t.id AND (p.status IS NULL OR p.status <> 'DONE'))
   AND (t.resource IS NULL OR NOT EXISTS (SELECT 1 FROM tasks r
                   WHERE r.resource = t.resource AND r.status = 'IN_PROGRESS'))
 ORDER BY t.priority, t.due_at IS NULL, t.due_at, t.num, t.seq LIMIT 1;
UPDATE tasks SET status = 'IN_PROGRESS', attempts = attempts + 1, owner = 'bench', started_at = @now,
       retry_at = NULL, lease_token = @tok, lease_expires_at = @now + 900000, run_id = @run,
       updated_at = @now, version = version + 1
 WHERE id = (SELECT id FROM c) AND version = (SELECT version FROM c);
INSERT INTO runs (id, task_id, attempt, owner, trace_id, lease_token, host, pid, pgid, started_at)
 SELECT @run, id, attempts + 1, 'bench', @trace, @tok, 'bench-host', 1, NULL, @now FROM c;
INSERT INTO events (ts, level, event, task_id, run_id, trace_id, owner, attempt, from_status, to_status, msg)
 SELECT @now, 'info', 'task.claimed', id, @run, @trace, 'bench', attempts + 1, status, 'IN_PROGRESS', NULL FROM c;
COMMIT;
.mode list
SELECT id || ' ' || @tok FROM c;
SQL

# The shell's done transaction; @id and @tok are set by the caller.
cat >"$WORK/done.sql" <<SQL
.timeout 30000
PRAGMA synchronous = FULL;
.parameter set @now "$NOW_MS"
BEGIN IMMEDIATE;
CREATE TEMP TABLE c AS SELECT $COLS FROM tasks WHERE id = @id;
UPDATE tasks SET status = 'DONE', lease_token = NULL, lease_expires_at = NULL, updated_at = @now,
       version = version + 1
 WHERE id = @id AND version = (SELECT version FROM c) AND lease_token = @tok;
UPDATE runs SET ended_at = @now, outcome = 'done', class = NULL, reason = NULL
 WHERE id = (SELECT run_id FROM c) AND ended_at IS NULL;
INSERT INTO events (ts, level, event, task_id, run_id, trace_id, owner, attempt, from_status, to_status, msg)
 SELECT @now, 'info', 'task.done', id, run_id, (SELECT trace_id FROM runs WHERE id = c.run_id), owner, attempts,
        'IN_PROGRESS', 'DONE', NULL FROM c;
COMMIT;
SQL

# Commands, per database folder $D. A done needs a claimed task: the untimed prepare
# step claims one and leaves "ID TOKEN" in $D/cur; the timed command reads it with shell
# builtins (the same for both sides) and execs the tool.
orch_pick() { echo "$ORCH --home $1/.orch pick --owner bench"; }
orch_prepare_done() {
    echo "$ORCH --home $1/.orch pick --owner bench | awk 'NR == 1 { id = \$1 } /ORCH_LEASE_TOKEN=/ { sub(/.*=/, \"\"); print id, \$0 }' > $1/cur"
}
orch_done() { echo "read -r id tok < $1/cur; exec $ORCH --home $1/.orch done \"\$id\" --lease \"\$tok\""; }
shell_pick() { echo "sqlite3 $1/.orch/orch.db '.read $WORK/claim.sql'"; }
shell_prepare_done() { echo "sqlite3 $1/.orch/orch.db '.read $WORK/claim.sql' > $1/cur"; }
shell_done() {
    echo "read -r id tok < $1/cur; exec sqlite3 -cmd \".parameter set @id '\$id'\" -cmd \".parameter set @tok '\$tok'\" $1/.orch/orch.db '.read $WORK/done.sql'"
}

# Checks that one done of each side really finished its task.
sanity() {
    local d=$1
    eval "$(orch_prepare_done "$d")"
    (eval "$(orch_done "$d")") >/dev/null
    local id
    read -r id _ <"$d/cur"
    [ "$(sqlite3 "$d/.orch/orch.db" "SELECT status FROM tasks WHERE id = '$id'")" = DONE ] || {
        echo "orch done did not finish $id" >&2
        exit 1
    }
    eval "$(shell_prepare_done "$d")"
    (eval "$(shell_done "$d")")
    read -r id _ <"$d/cur"
    [ "$(sqlite3 "$d/.orch/orch.db" "SELECT status FROM tasks WHERE id = '$id'")" = DONE ] || {
        echo "sqlite3 done did not finish $id" >&2
        exit 1
    }
}

# Runs the four measurements on folders $1 (orch) and $2 (shell); label $3.
measure() {
    local o=$1 s=$2 label=$3
    sanity "$o"
    echo
    echo "== $label"
    if command -v hyperfine >/dev/null; then
        local j="$WORK/$label.json"
        hyperfine -N --warmup 3 --runs "$RUNS" --style basic --export-json "$j.pick" \
            -n "orch pick" "$(orch_pick "$o")" -n "sqlite3 claim" "$(shell_pick "$s")" >/dev/null
        hyperfine --warmup 3 --runs "$RUNS" --style basic --export-json "$j.done" \
            --prepare "$(orch_prepare_done "$o")" -n "orch done" "$(orch_done "$o")" \
            --prepare "$(shell_prepare_done "$s")" -n "sqlite3 done" "$(shell_done "$s")" >/dev/null
        python3 - "$j.pick" "$j.done" <<'PY'
import json, sys
for path in sys.argv[1:]:
    r = json.load(open(path))["results"]
    o, s = r[0], r[1]
    ms = lambda x: x["median"] * 1000
    print(f"{o['command']:<14} median {ms(o):7.2f} ms   {s['command']:<14} median {ms(s):7.2f} ms   "
          f"ratio {ms(o) / ms(s):.2f}x  (mean {o['mean']*1000:.2f} vs {s['mean']*1000:.2f} ms, {len(o['times'])} runs)")
PY
    else
        local op sp od sd
        op=$(median_ms "$(orch_pick "$o")")
        sp=$(median_ms "$(shell_pick "$s")")
        od=$(median_ms "$(orch_done "$o")" "$(orch_prepare_done "$o")")
        sd=$(median_ms "$(shell_done "$s")" "$(shell_prepare_done "$s")")
        awk -v a="$op" -v b="$sp" 'BEGIN {printf "orch pick      median %7.2f ms   sqlite3 claim  median %7.2f ms   ratio %.2fx\n", a, b, a/b}'
        awk -v a="$od" -v b="$sd" 'BEGIN {printf "orch done      median %7.2f ms   sqlite3 done   median %7.2f ms   ratio %.2fx\n", a, b, a/b}'
    fi
    local tasks
    tasks=$(sqlite3 "$o/.orch/orch.db" "SELECT count(*) FROM tasks")
    echo "($tasks tasks; claim plan: $(sqlite3 "$o/.orch/orch.db" "EXPLAIN QUERY PLAN SELECT id FROM tasks t INDEXED BY tasks_claim WHERE t.status IN ('PENDING','FAILED') ORDER BY t.priority, t.due_at IS NULL, t.due_at, t.num, t.seq LIMIT 1" | tail -n +2 | tr -d '|`-' | xargs))"
}

echo "sqlite3 $(sqlite3 --version | cut -d' ' -f1), $(command -v hyperfine >/dev/null && hyperfine --version || echo 'no hyperfine: timing loop'), $(nproc) cores"
t0=$(date +%s%N)
populate "$WORK/orch" "$N" none
echo "populated $N tasks in $((($(date +%s%N) - t0) / 1000000)) ms"
cp -r "$WORK/orch" "$WORK/shell"
measure "$WORK/orch" "$WORK/shell" "$N tasks, no view (queue.file = \"\")"

populate "$WORK/orch-view" "$VIEW_N" view
cp -r "$WORK/orch-view" "$WORK/shell-view"
measure "$WORK/orch-view" "$WORK/shell-view" "$VIEW_N tasks, QUEUE.md view on"

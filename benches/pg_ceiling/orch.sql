-- pgbench script for benches/pg_ceiling.sh: one pass is one claim and one complete
-- (a DONE with the gate's PASS verdict), with orch's own claim and settle statements.
-- orch, round trip for round trip: Orch::claim (BEGIN, the one-statement claim, COMMIT),
-- Orch::finish (the task and the run its lease token holds in one read; BEGIN, the
-- one-step settle, COMMIT), and the events.jsonl mirror's read, which the threads of one
-- process share (about one read per nine changes there). orch sends each BEGIN together
-- with the statement after it, and a read's COMMIT without waiting for its reply
-- (\startpipeline here). pgbench cannot take a claim's result (\gset) in a pipeline, so
-- here the claim's BEGIN costs a round trip of its own, one more than orch pays. orch
-- also sends `SET LOCAL enable_sort = off` with the claim's BEGIN; with the fresh
-- statistics of this database the plan is the same without it.
BEGIN ISOLATION LEVEL READ COMMITTED;
WITH p AS MATERIALIZED (
    SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now, 'w' || :client_id AS owner,
        md5(random()::text) AS tok, gen_random_uuid()::text AS run, md5(random()::text) AS trace),
expired AS MATERIALIZED (
    SELECT EXISTS (SELECT 1 FROM tasks, p WHERE status = 'IN_PROGRESS' AND lease_expires_at <= p.now) AS any),
cand AS MATERIALIZED (
    SELECT t.id, t.status, t.priority, t.task, t.success_criteria, t.owner, t.started_at,
        t.due_at, t.notes, t.extra, t.attempts, t.max_attempts, t.retry_at,
        t.idempotency_key, t.resource, t.depends_on, t.lease_token, t.lease_expires_at,
        t.run_id, t.created_at, t.updated_at, t.version
    FROM tasks t, p
    WHERE t.status IN ('PENDING', 'FAILED')
      AND (t.status = 'PENDING' OR (t.retry_at IS NOT NULL AND t.retry_at <= p.now))
      AND (t.depends_on IS NULL OR NOT EXISTS (SELECT 1 FROM deps d LEFT JOIN tasks q ON q.id = d.depends_on
                      WHERE d.task_id = t.id AND (q.status IS NULL OR q.status <> 'DONE')))
      AND (t.resource IS NULL OR NOT EXISTS (SELECT 1 FROM tasks r
                      WHERE r.resource = t.resource AND r.status = 'IN_PROGRESS'))
    ORDER BY t.priority, t.due_at NULLS LAST, t.num, t.seq LIMIT 1 FOR UPDATE OF t SKIP LOCKED),
go AS MATERIALIZED (
    SELECT c.id, c.version, c.status FROM cand c, expired e
    WHERE NOT e.any AND c.resource IS NULL
      AND (c.idempotency_key IS NULL OR EXISTS (SELECT 1 FROM idempotency i
           WHERE i.key = c.idempotency_key AND i.task_id = c.id))),
upd AS (
    UPDATE tasks u SET status = 'IN_PROGRESS', attempts = u.attempts + 1, owner = p.owner,
        started_at = p.now, retry_at = NULL, lease_token = p.tok, lease_expires_at = p.now + 900000,
        run_id = p.run, updated_at = p.now, version = u.version + 1
    FROM go, p WHERE u.id = go.id AND u.version = go.version
    RETURNING u.id, u.status, u.priority, u.task, u.success_criteria, u.owner, u.started_at,
              u.due_at, u.notes, u.extra, u.attempts, u.max_attempts, u.retry_at,
              u.idempotency_key, u.resource, u.depends_on, u.lease_token, u.lease_expires_at,
              u.run_id, u.created_at, u.updated_at, u.version, go.status AS from_status),
run AS (
    INSERT INTO runs (id, task_id, attempt, owner, trace_id, lease_token, host, pid, pgid, started_at,
        spawned_by, dispatcher)
    SELECT p.run, upd.id, upd.attempts, p.owner, p.trace, p.tok, NULL, NULL, NULL, p.now, NULL, NULL
    FROM upd, p),
ev AS (
    INSERT INTO events (ts, level, event, task_id, run_id, trace_id, owner, attempt, from_status,
        to_status, msg)
    SELECT p.now, 'info', 'task.claimed', upd.id, p.run, p.trace, p.owner, upd.attempts,
        upd.from_status, 'IN_PROGRESS', NULL FROM upd, p)
SELECT upd.id AS tid, upd.run_id AS rid, upd.lease_token AS tok, upd.version AS ver,
    upd.attempts AS att, p.trace AS trace, p.owner AS owner
FROM upd, p;
\gset
COMMIT;
\startpipeline
BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
SELECT
    t.id, t.status, t.priority, t.task, t.success_criteria, t.owner, t.started_at,
    t.due_at, t.notes, t.extra, t.attempts, t.max_attempts, t.retry_at,
    t.idempotency_key, t.resource, t.depends_on, t.lease_token, t.lease_expires_at,
    t.run_id, t.created_at, t.updated_at, t.version,
    r.id, r.task_id, r.attempt, r.owner, r.trace_id, r.lease_token, r.host, r.pid,
    r.pgid, r.started_at, r.ended_at, r.outcome, r.class, r.reason, r.report,
    r.late_report, r.proc_start, r.spawned_by, r.input_tokens, r.output_tokens,
    r.cost_usd, r.verdict, r.verdict_reason, r.dispatcher
FROM tasks t LEFT JOIN runs r ON t.lease_token = :tok AND r.lease_token = :tok
WHERE t.id = :tid;
COMMIT;
\endpipeline
\startpipeline
BEGIN ISOLATION LEVEL READ COMMITTED;
WITH upd AS (
    UPDATE tasks SET status = 'DONE', priority = priority, task = task,
        success_criteria = success_criteria, owner = owner, started_at = started_at, due_at = due_at,
        notes = notes, extra = extra, attempts = attempts, max_attempts = max_attempts,
        retry_at = NULL, lease_token = NULL, lease_expires_at = NULL, run_id = run_id,
        updated_at = (extract(epoch FROM clock_timestamp()) * 1000)::bigint, version = version + 1
    WHERE id = :tid AND version = :ver
      AND NOT (true AND EXISTS (SELECT 1 FROM deps WHERE depends_on = :tid))
    RETURNING id, updated_at),
run AS (
    UPDATE runs r SET
        verdict = 'PASS', verdict_reason = 'compact report',
        ended_at = CASE WHEN r.ended_at IS NOT NULL THEN r.ended_at ELSE upd.updated_at END,
        outcome = CASE WHEN r.ended_at IS NOT NULL THEN r.outcome ELSE 'done' END,
        class = CASE WHEN r.ended_at IS NOT NULL THEN r.class ELSE NULL END,
        reason = CASE WHEN r.ended_at IS NOT NULL THEN r.reason ELSE NULL END,
        report = CASE WHEN r.ended_at IS NOT NULL THEN r.report ELSE COALESCE('- ok', r.report) END
    FROM upd WHERE r.id = :rid),
ev AS (
    INSERT INTO events (seq, ts, level, event, task_id, run_id, trace_id, owner, attempt, from_status,
        to_status, msg)
    SELECT NULLIF(e.seq, 0), upd.updated_at, e.level, e.event, upd.id, :rid, :trace, :owner, :att,
        e.f, e.t, e.msg
    FROM unnest(ARRAY[0, 0, 0]::bigint[], ARRAY['info', 'info', 'info'],
            ARRAY['gate.verdict', 'task.done', 'run.finished'], ARRAY[NULL, 'IN_PROGRESS', 'IN_PROGRESS'],
            ARRAY[NULL, 'DONE', 'DONE'], ARRAY['PASS: compact report', NULL, 'done'])
        WITH ORDINALITY AS e(seq, level, event, f, t, msg, n)
    CROSS JOIN upd ORDER BY e.n)
SELECT count(*) FROM upd;
\endpipeline
COMMIT;
\set r random(1, 9)
\set back 9
\if :r = 1
SELECT count(*) FROM orch_events_after(
    (SELECT COALESCE(pg_sequence_last_value('events_seq'), 0)) - :back, 1000);
\endif

#!/usr/bin/env bash
# operator_docs.sh — refreshes the sample outputs of the operator documents (CHECKLIST,
# RETRY_LOG, RUNBOOK and their Korean versions) from a real run of orch.
#
#   docs/gen/operator_docs.sh [ORCH_BINARY] [SCRATCH_FOLDER]
#
# ORCH_BINARY defaults to target/debug/orch (this script builds nothing); SCRATCH_FOLDER
# to a new temporary folder (it must be empty or absent; it is kept for a look).
# It makes a queue there with a sample worker whose behaviour follows the task's words
# ("flaky" fails once then succeeds, "broken" always fails transiently, "invalid" fails
# for good), runs the dispatcher, records what the operator commands print, and writes
# each sample into the documents between `<!-- gen:NAME -->` and `<!-- /gen -->`.
# Values that change on every run are masked so that a rerun changes little: times
# (<time>), run ids (<run-id>), trace ids and lease tokens (<hex>), pids (<pid>), the
# host name (HOST), sub-second durations (0.Ns) and the scratch folder (<scratch>).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ORCH=$(realpath "${1:-$ROOT/target/debug/orch}")
SCRATCH=${2:-$(mktemp -d "${TMPDIR:-/tmp}/orch-docs.XXXXXX")}
[ -x "$ORCH" ] || { echo "operator_docs.sh: no orch binary at $ORCH (cargo build -p orch-queue)" >&2; exit 2; }
mkdir -p "$SCRATCH"
SCRATCH=$(realpath "$SCRATCH")
[ -z "$(ls -A "$SCRATCH")" ] || { echo "operator_docs.sh: $SCRATCH is not empty" >&2; exit 2; }
OUT="$SCRATCH/samples"
PROJECT="$SCRATCH/project"
mkdir -p "$OUT" "$PROJECT"
cd "$PROJECT"
unset ORCH_HOME ORCH_DB ORCH_QUEUE_MD ORCH_QUEUE_MD_READ_ONLY ORCH_LEASE_TOKEN ORCH_RUN_ID
HOST=$(hostname)

mask() {
    sed -E \
        -e 's/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/<run-id>/g' \
        -e 's/\b[0-9a-f]{32}\b/<hex>/g' \
        -e 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z/<time>/g' \
        -e 's/[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}(:[0-9]{2})?/<time>/g' \
        -e 's/pid [0-9]+/pid <pid>/g' \
        -e 's/\b0\.[0-9]s\b/0.Ns/g' \
        -e "s#$SCRATCH/project#<scratch>#g" \
        -e "s/\b$HOST\b/HOST/g"
}

# record NAME ARGS…: runs `orch ARGS…` and appends the command line, what it printed
# (stdout and stderr, masked) and a non-zero exit code to the sample NAME.
record() {
    local name=$1 rc=0
    shift
    local line='$ orch' a
    for a in "$@"; do
        if [[ $a =~ ^[A-Za-z0-9_./:=,+-]+$ ]]; then line+=" $a"; else line+=" \"$a\""; fi
    done
    echo "$line" >>"$OUT/$name"
    "$ORCH" "$@" >"$OUT/.last" 2>&1 || rc=$?
    mask <"$OUT/.last" >>"$OUT/$name"
    [ "$rc" -eq 0 ] || echo "(exit $rc)" >>"$OUT/$name"
}

# drain NAME: `orch run --until-idle --sequential` until no retry is waiting.
drain() {
    local i
    for ((i = 0; i < 8; i++)); do
        record "$1" run --until-idle --sequential
        if ! "$ORCH" list --status FAILED --json | grep -q '"retry_at": "'; then return; fi
        sleep 1.1
    done
}

# ---- the scenario
record smoke-run init
cat >worker.sh <<'EOF'
#!/bin/sh
# The sample worker: its behaviour follows the task's words ($1, from {task}); its stdout
# is its report.
case "$1" in
*flaky*) if [ "$ORCH_ATTEMPT" -lt 2 ]; then echo "partner feed timed out" >&2; exit 75; fi ;;
*broken*) echo "mirror unreachable" >&2; exit 75 ;;
*invalid*) echo "the export has no header row" >&2; exit 64 ;;
esac
echo '{"orch":{"usage":{"input_tokens":1200,"output_tokens":300,"cost_usd":0.01}}}'
echo "- $ORCH_TASK_ID done on attempt $ORCH_ATTEMPT"
echo "Risks: none"
EOF
chmod +x worker.sh
sed -i \
    -e 's|^command = .*|command = ["./worker.sh", "{task}"]|' \
    -e 's|^backoff = .*|backoff = ["1s", "1s", "1s"]|' \
    -e 's|^min_runs = .*|min_runs = 5|' \
    .orch/orch.toml
record smoke-run add "Write the release checklist" --priority P0 --criteria "1) ten items"
record smoke-run add "Fetch the flaky partner feed" --criteria "1) feed saved"
record smoke-run add "Sync the broken mirror" --criteria "1) mirror in sync"
record smoke-run add "Import the invalid export" --criteria "1) rows imported"
record smoke-run add "Summarise the feed" --priority P2 --depends-on ORCH-002
record smoke-run status
drain smoke-run
record smoke-run status

record retry-success log ORCH-002
record retry-success show ORCH-002
record retry-success-events events --task ORCH-002
record retry-exhausted log ORCH-003
record retry-exhausted show ORCH-003
record permanent log ORCH-004
record permanent show ORCH-004

record status status
record failed list --status FAILED
record kpi kpi
record alert kpi --fail-on-alert
record check check
record workers workers
record list list

# drift: a person edits QUEUE.md, check sees it, import takes it in
sed -i 's/| Summarise the feed |/| Summarise the feed for the weekly mail |/' QUEUE.md
record drift check
record drift import
record drift check

# an operator puts the failed-for-good task back once its cause is fixed
record operator-retry retry ORCH-004
record operator-retry status ORCH-004

# ---- write the samples into the documents
for doc in "$ROOT"/docs/*.md; do
    grep -q '<!-- gen:' "$doc" || continue
    awk -v dir="$OUT" '
        /^<!-- gen:[a-z0-9-]+ -->$/ {
            print
            name = $0; sub(/^<!-- gen:/, "", name); sub(/ -->$/, "", name)
            file = dir "/" name
            if ((getline line < file) <= 0) { print "operator_docs.sh: no sample " name > "/dev/stderr"; exit 2 }
            print "```text"; print line
            while ((getline line < file) > 0) print line
            close(file)
            print "```"
            skip = 1; next
        }
        /^<!-- \/gen -->$/ { skip = 0 }
        !skip { print }
    ' "$doc" >"$doc.new"
    mv "$doc.new" "$doc"
    echo "operator_docs.sh: refreshed ${doc#"$ROOT"/}"
done
echo "operator_docs.sh: samples in $OUT"

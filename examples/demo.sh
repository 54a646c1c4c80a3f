#!/usr/bin/env bash
# Runs orch on a sample queue with a sample worker: embedded SQLite, no agent, offline.
# Usage: bash examples/demo.sh   (leaves the demo folder in place and prints its path)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cargo build --release --quiet --manifest-path "$repo/Cargo.toml" --bin orch
orch="$repo/target/release/orch"
demo="$(mktemp -d "${TMPDIR:-/tmp}/orch-demo.XXXXXX")"
cp "$repo/examples/demo/QUEUE.md" "$repo/examples/demo/worker.sh" "$demo/"
cd "$demo"

echo "== orch init (imports QUEUE.md)"
"$orch" init
cp "$repo/examples/demo/orch.toml" .orch/orch.toml

echo "== a task that waits for two others"
"$orch" add "Merge the summary and the risks into release notes" \
  --priority P1 --depends-on DEMO-001,DEMO-003 --criteria "1) both reports used"
"$orch" status

echo "== orch run --until-idle"
"$orch" run --until-idle

echo "== summary"
"$orch" status
"$orch" log DEMO-006
echo
cat QUEUE.md
echo
echo "The demo queue is in $demo (try: cd $demo && $orch list)"

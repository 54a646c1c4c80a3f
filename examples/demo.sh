#!/usr/bin/env bash
# Runs orch on a sample queue with a sample worker: embedded SQLite, no agent, offline.
# Usage: bash examples/demo.sh   (leaves the demo folder in place and prints its path)
# The binary is the one cargo says it built, wherever CARGO_TARGET_DIR (or a
# .cargo/config.toml) puts it; ORCH_DEMO_PROFILE picks the build profile (dev: the quickest first build;
# release is the lean, slower-to-build binary).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
profile="${ORCH_DEMO_PROFILE:-dev}"
# Cargo names each file it built on a JSON line: the executable of the bin target `orch`.
orch="$(cargo build --profile "$profile" --quiet --message-format=json --manifest-path "$repo/Cargo.toml" --bin orch |
  grep '"target":{[^}]*"name":"orch"' | grep -o '"executable":"[^"]*"' | tail -n 1 | cut -d'"' -f4)"
if [ -z "$orch" ] || [ ! -x "$orch" ]; then
  echo "demo: cargo built no orch executable I can find (profile $profile)" >&2
  exit 1
fi
demo="$(mktemp -d "${TMPDIR:-/tmp}/orch-demo.XXXXXX")"
trap 'status=$?; [ "$status" -eq 0 ] || echo "demo: failed (exit $status); its folder is $demo" >&2' EXIT
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

#!/bin/sh
# A sample worker: no agent needed. It reads its task from the environment (never from
# a shell-expanded string), works for a moment, reports usage on a control line and
# prints a compact report (at most 8 bullets and a Risks section) on stdout.
set -eu
sleep 0.3
echo '{"orch":{"usage":{"input_tokens":120,"output_tokens":40,"cost_usd":0.001}}}'
echo "- $ORCH_TASK_ID handled on attempt $ORCH_ATTEMPT"
echo "- task file: $ORCH_TASK_JSON"
if grep -q '"deps": \[\]' "$ORCH_TASK_JSON"; then
  echo "- no dependencies"
else
  echo "- read the reports of the tasks it depends on"
fi
echo "Risks: none (this is a demo worker)"

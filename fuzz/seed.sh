#!/bin/sh
# Seeds the fuzz corpora from the project's own files: the QUEUE.md fixtures and the
# demo queue for `queue_md`, the example configs for `config`. Run from anywhere.
set -eu
fuzz=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$fuzz")
mkdir -p "$fuzz/corpus/queue_md" "$fuzz/corpus/config"
for f in "$root"/tests/fixtures/*.md "$root"/examples/demo/QUEUE.md; do
    [ -f "$f" ] && cp "$f" "$fuzz/corpus/queue_md/seed-$(basename "$(dirname "$f")")-$(basename "$f")"
done
for f in "$root"/examples/*/orch.toml "$root"/examples/*.toml; do
    [ -f "$f" ] && cp "$f" "$fuzz/corpus/config/seed-$(basename "$(dirname "$f")")-$(basename "$f")"
done
# The commented config `orch init` writes, when a built orch is at hand.
orch="$root/target/debug/orch"
if [ -x "$orch" ]; then
    tmp=$(mktemp -d)
    (cd "$tmp" && "$orch" init >/dev/null 2>&1) && cp "$tmp/.orch/orch.toml" "$fuzz/corpus/config/seed-init-orch.toml"
    rm -rf "$tmp"
fi
echo "corpus: $(ls "$fuzz/corpus/queue_md" | wc -l) queue_md, $(ls "$fuzz/corpus/config" | wc -l) config inputs"

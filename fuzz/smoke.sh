#!/bin/sh
# Runs each fuzz target briefly: `fuzz/smoke.sh [SECONDS]` (default 30 per target).
# Works on the stable toolchain (RUSTC_BOOTSTRAP=1, see README.md); exits non-zero when a
# target finds a crash (its input is saved under fuzz/artifacts/TARGET/).
set -eu
seconds=${1:-30}
cd "$(dirname "$0")"
command -v cargo-fuzz >/dev/null 2>&1 || { echo "cargo-fuzz is missing: cargo install cargo-fuzz" >&2; exit 2; }
[ -d corpus/queue_md ] || ./seed.sh
export RUSTC_BOOTSTRAP=1
cargo fuzz build -O
for target in queue_md config; do
    mkdir -p "corpus/$target"
    echo "== $target, ${seconds}s"
    cargo fuzz run -O "$target" "corpus/$target" -- -max_total_time="$seconds" -max_len=65536 -print_final_stats=1
done

#!/usr/bin/env bash
# workspaces.sh — what a git worktree per task costs, on a repository of FILES files
# (default 10,000 in 100 folders):
#   per task: `orch run --until-idle --workers 1` over N tasks whose worker is `true`,
#             with [workspace] mode = "shared" and mode = "worktree"; the difference per
#             task is the cost of making and removing its worktree (and committing
#             nothing). Goal: at most 150 ms.
#   landing:  N branches (one new file each, worktrees kept) landed one after the other
#             with `orch land ID` and a no-op check (`true`): branches per second.
#             Goal: at least 5.
#   bare git: `git worktree add` + `git worktree remove` alone on the same repository, the
#             floor under the per-task figure.
#
# Usage: benches/workspaces.sh              (FILES=10000 N=20)
#        ORCH=target/debug/orch N=10 benches/workspaces.sh
set -euo pipefail

FILES=${FILES:-10000}
N=${N:-20}

. "$(dirname "$0")/lib.sh"

ms() { echo $(($(date +%s%N) / 1000000)); }

# A repository in $1 with FILES files, one commit, and an orch queue of N tasks.
setup() {
    local dir=$1 mode=$2
    mkdir -p "$dir"
    (
        cd "$dir"
        git init --quiet --initial-branch main
        git config user.name bench
        git config user.email bench@example.com
        for ((d = 0; d < 100; d++)); do
            mkdir -p "d$d"
            for ((f = 0; f < FILES / 100; f++)); do echo "$d $f" >"d$d/f$f.txt"; done
        done
        printf '.orch/\nQUEUE.md\n' >.gitignore
        git add . && git commit --quiet -m start
        "$ORCH" init >/dev/null
        sed -i 's/^compact_report = true/compact_report = false/; s/^file = "QUEUE.md".*/file = ""/' .orch/orch.toml
        sed -i "s/^mode = .*/mode = \"$mode\"/" .orch/orch.toml
        for ((i = 1; i <= N; i++)); do "$ORCH" add "task $i" >/dev/null; done
    )
}

echo "repository: $FILES files; $N tasks"
for mode in shared worktree; do
    setup "$WORK/$mode" "$mode"
    sed -i 's/^command = \["claude".*/command = ["true"]/' "$WORK/$mode/.orch/orch.toml"
    s=$(ms)
    (cd "$WORK/$mode" && "$ORCH" run --until-idle --workers 1 --quiet >/dev/null)
    e=$(ms)
    eval "took_$mode=$((e - s))"
    echo "run, $mode: $((e - s)) ms for $N tasks ($(((e - s) / N)) ms a task)"
done
echo "worktree per task (create + remove): $(((took_worktree - took_shared) / N)) ms (goal: at most 150)"

# The floor git sets: bare `git worktree add -b` and `git worktree remove --force` on the
# same repository, N times, without orch.
s=$(ms)
for ((i = 1; i <= N; i++)); do
    git -C "$WORK/shared" worktree add --quiet -b "bare/$i" "$WORK/bare-$i" main
    git -C "$WORK/shared" worktree remove --force "$WORK/bare-$i"
done
e=$(ms)
echo "bare git worktree add + remove: $(((e - s) / N)) ms a task"

setup "$WORK/land" worktree
(
    cd "$WORK/land"
    sed -i 's/^command = \["claude".*/command = ["sh", "-c", "echo \\"$ORCH_TASK_ID\\" > \\"$ORCH_TASK_ID.txt\\""]/' .orch/orch.toml
    sed -i 's/^keep = .*/keep = "always"/; s/^check = .*/check = ["true"]/' .orch/orch.toml
    "$ORCH" run --until-idle --workers 3 --quiet >/dev/null
)
s=$(ms)
for ((i = 1; i <= N; i++)); do (cd "$WORK/land" && "$ORCH" land "$i" >/dev/null); done
e=$(ms)
echo "landing: $N branches in $((e - s)) ms: $((N * 1000 / (e - s > 0 ? e - s : 1))) branches/s (goal: at least 5)"
echo "base now: $(git -C "$WORK/land" rev-list --count main) commits"

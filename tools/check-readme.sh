#!/usr/bin/env bash
# check-readme.sh BUILD_DIR: README's "Using jx in your own program", run as written. Takes
# the section's C block as first.c and its sh block as the commands, runs them in a scratch
# folder (HOME is that folder, `build` points at BUILD_DIR) and checks that the compiler
# said nothing (no warning under -Wall -Wextra) and the program printed what README says.
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
build="$(cd "${1:-build}" && pwd)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# the n-th fenced block of a language inside the section
block() {
    awk -v lang="$1" '/^## /{ in_sec = ($0 == "## Using jx in your own program") }
        in_sec && $0 == "```" lang { on = 1; next }
        on && $0 == "```" { exit }
        on { print }' "$src/README.md"
}
block c >"$work/first.c"
block sh >"$work/commands.sh"
[ -s "$work/first.c" ] && [ -s "$work/commands.sh" ] || { echo "README: section or blocks not found"; exit 1; }
want=$(grep -o 'It prints `[^`]*`' "$src/README.md" | head -1 | sed 's/It prints `\(.*\)`/\1/')
ln -s "$build" "$work/build"
cd "$work"
out=$(HOME="$work" bash -euo pipefail commands.sh 2>&1)
echo "$out"
if echo "$out" | grep -q -i "warning"; then echo "check-readme: the README's commands gave a warning"; exit 1; fi
last=$(echo "$out" | tail -1)
[ "$last" = "$want" ] || { echo "check-readme: printed '$last', README says '$want'"; exit 1; }
echo "check-readme: the README's first program compiles warning-free and prints '$want'"

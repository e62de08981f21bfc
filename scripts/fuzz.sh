#!/usr/bin/env bash
# Runs every Fuzz* target for a short while: scripts/fuzz.sh [FUZZTIME].
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-20s}
grep -rl --include='*_test.go' '^func Fuzz' . | while read -r f; do
  pkg=./$(dirname "${f#./}")
  for target in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | cut -d' ' -f2); do
    echo "== $pkg $target"
    go test -run "^$" -fuzz "^${target}\$" -fuzztime "$fuzztime" -fuzzminimizetime 2s "$pkg"
  done
done

#!/usr/bin/env bash
# Starts `cofre coordinator --dev` on a free loopback port with a throwaway
# state directory, runs the closed-loop activation load generator against
# it from a second process (which uploads the manifest first), and stops the
# coordinator. Extra arguments go to the load generator (e.g. -c 16 -d 10s
# -runs 7).
#
# Run from the repository root: bench/coordinator/run.sh [-c N] [-d DUR] [-runs N]
set -euo pipefail
cd "$(dirname "$0")/../.."

out=bench/out
mkdir -p "$out"
go build -trimpath -o "$out/cofre" ./cmd/cofre
go build -trimpath -o "$out/coordinator-load" ./bench/coordinator

state=$(mktemp -d)
log=$(mktemp)
# Warn-level logs: per-request debug logging is not what is measured.
"$out/cofre" coordinator --dev --listen 127.0.0.1:0 --state "$state" --log-level warn >"$log" 2>&1 &
pid=$!
cleanup() {
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	rm -rf "$state" "$log"
}
trap cleanup EXIT

url=""
for _ in $(seq 1 200); do
	url=$(sed -n 's/^cofre coordinator: listening on \(https:[^ ]*\).*/\1/p' "$log")
	[ -n "$url" ] && break
	kill -0 "$pid" 2>/dev/null || { cat "$log"; exit 1; }
	sleep 0.05
done
[ -n "$url" ] || { echo "coordinator did not start"; cat "$log"; exit 1; }

echo "coordinator (pid $pid) at $url; $(nproc) CPUs shared by coordinator and load generator"
"$out/coordinator-load" -url "$url" -sim "$state/sim" "$@"

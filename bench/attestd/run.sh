#!/usr/bin/env bash
# Starts `cofre attestd --dev` on a free loopback port with a throwaway
# state directory, runs the closed-loop load generator against it from a
# second process, and stops the service. Extra arguments go to the load
# generator (e.g. -c 16 -d 10s -runs 7).
#
# Run from the repository root: bench/attestd/run.sh [-c N] [-d DUR] [-runs N]
set -euo pipefail
cd "$(dirname "$0")/../.."

out=bench/out
mkdir -p "$out"
go build -trimpath -o "$out/cofre" ./cmd/cofre
go build -trimpath -o "$out/attestd-load" ./bench/attestd

state=$(mktemp -d)
log="$state/attestd.out"
# Warn-level logs: per-request debug logging is not what is measured.
"$out/cofre" attestd --dev --listen 127.0.0.1:0 --state "$state" --log-level warn >"$log" 2>&1 &
pid=$!
cleanup() {
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	rm -rf "$state"
}
trap cleanup EXIT

url=""
for _ in $(seq 1 200); do
	url=$(sed -n 's/^cofre attestd: listening on \(https:[^ ]*\).*/\1/p' "$log")
	[ -n "$url" ] && break
	kill -0 "$pid" 2>/dev/null || { cat "$log"; exit 1; }
	sleep 0.05
done
[ -n "$url" ] || { echo "attestd did not start"; cat "$log"; exit 1; }

echo "attestd (pid $pid) at $url; $(nproc) CPUs shared by service and load generator"
"$out/attestd-load" -url "$url" -ca "$state/dev/tls/cert.pem" -platform "$state/dev/sim/platform.pem" "$@"

#!/usr/bin/env bash
# Column encryption: cells/s per scheme, and COPY/SELECT of 1M rows into a
# scratch PostgreSQL cluster, encrypted vs plaintext, same run (see main.go).
# Needs the Debian package postgresql (its binaries, not its service); as
# root the cluster runs as the postgres user.
# Extra arguments go to the program (e.g. -rows 200000 -runs 7).
#
# Run from the repository root: bench/colenc/run.sh [-rows N] [-runs N]
set -euo pipefail
cd "$(dirname "$0")/../.."

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/initdb" ] || { echo "PostgreSQL not installed (apt-get install postgresql)" >&2; exit 2; }
dir=$(mktemp -d)
as=()
if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; as=(runuser -u postgres --); fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"${as[@]}" "$bin/initdb" -D "$dir/data" -U cofre --auth=trust -E UTF8 --no-sync >/dev/null
"${as[@]}" "$bin/pg_ctl" -D "$dir/data" -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir" -l "$dir/log" -w start >/dev/null
trap '"${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null; rm -rf "$dir"' EXIT
echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}'), $(nproc) CPUs, fsync on, synchronous_commit on"
go run ./bench/colenc -db "postgres://cofre@127.0.0.1:$port/postgres?sslmode=disable" "$@"

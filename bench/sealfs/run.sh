#!/usr/bin/env bash
# Encrypted-volume throughput: plain files, the sealfs library, a sealfs
# FUSE mount and gocryptfs, same machine, same run (see main.go for the
# methodology). Needs root (mount(2)) and /dev/fuse; installs the Debian
# packages gocryptfs and fuse3 (for umount of gocryptfs's mount) if missing.
# Extra arguments go to the program (e.g. -size 67108864 -runs 7).
#
# Run from the repository root: bench/sealfs/run.sh [-size BYTES] [-runs N]
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v gocryptfs >/dev/null; then
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gocryptfs fuse3
fi
echo "gocryptfs: $(gocryptfs -version | head -1); $(nproc) CPUs; backing fs: $(df -T "${TMPDIR:-/tmp}" | awk 'NR==2{print $2}')"
go run ./bench/sealfs "$@"

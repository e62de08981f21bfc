#!/usr/bin/env bash
# fetch-onnxruntime.sh DESTDIR: place the ONNX Runtime shared library that
# infer/runtime dlopens into DESTDIR, from the npm package onnxruntime-node.
#
# Both the registry tarball and the extracted library are pinned by SHA-256:
# the library runs inside the confidential workload, so a different build
# must be a deliberate change to this file, never a silent registry update.
# The script is idempotent: a library already in DESTDIR with the pinned hash
# is left alone. It runs at build time (make onnxruntime, .ci/run), never at
# run time. Linux x86-64 only: the package also ships arm64, but only x64
# is pinned and tested.
set -euo pipefail

ORT_VERSION=1.24.3
NPM_SPEC="onnxruntime-node@${ORT_VERSION}"
TARBALL="onnxruntime-node-${ORT_VERSION}.tgz"
# sha256 of the registry tarball (npm dist.integrity is
# sha512-JH7+czbc8ALA819vlTgcV+Q214/+VjGeBHDjX81+ZCD0PCVCIFGFNtT0V4sXG/1JXypKPgScQcB3ij/hk3YnTg==).
TARBALL_SHA256=aa1bb5fa261ea68de05dd53efbba210cd7adf2d2850f4c3a201054c74cc78040
MEMBER=package/bin/napi-v6/linux/x64/libonnxruntime.so.1
LIB=libonnxruntime.so.1
LIB_SHA256=92ba8e44d31b80a34f5e805076a044122c3be1fffe0d88ed790de7267b0b2682

die() { echo "fetch-onnxruntime: $*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: $0 DESTDIR"
DEST=$1

os=$(uname -s); arch=$(uname -m)
[ "$os" = Linux ] && [ "$arch" = x86_64 ] ||
	die "only linux/x86_64 is supported (this is ${os}/${arch}); point COFRE_ONNXRUNTIME_LIB at an ONNX Runtime ${ORT_VERSION} library instead"

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

if [ -f "$DEST/$LIB" ] && [ "$(sha256_of "$DEST/$LIB")" = "$LIB_SHA256" ]; then
	echo "fetch-onnxruntime: $DEST/$LIB present (sha256 $LIB_SHA256)"
	exit 0
fi

command -v npm >/dev/null || die "npm not found (needed to fetch $NPM_SPEC)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

(cd "$tmp" && npm pack --silent "$NPM_SPEC" >/dev/null) || die "npm pack $NPM_SPEC failed"
got=$(sha256_of "$tmp/$TARBALL")
[ "$got" = "$TARBALL_SHA256" ] || die "$TARBALL sha256 is $got, want $TARBALL_SHA256"

tar -xzf "$tmp/$TARBALL" -C "$tmp" "$MEMBER" || die "$MEMBER not in $TARBALL"
got=$(sha256_of "$tmp/$MEMBER")
[ "$got" = "$LIB_SHA256" ] || die "$LIB sha256 is $got, want $LIB_SHA256"

mkdir -p "$DEST"
# Install under a temporary name and rename, so a concurrent reader never
# sees a half-written library.
install -m 0644 "$tmp/$MEMBER" "$DEST/.$LIB.tmp"
mv -f "$DEST/.$LIB.tmp" "$DEST/$LIB"
echo "fetch-onnxruntime: installed $DEST/$LIB (onnxruntime $ORT_VERSION, sha256 $LIB_SHA256)"

#!/usr/bin/env bash
# Inference: latency and throughput of the demo chest model on ONNX Runtime
# in-process, behind a plain Open Inference Protocol server, and behind
# cofre infer (TLS + caller token + HPKE, and without HPKE), same run (see
# main.go). Needs the ONNX Runtime library: $COFRE_ONNXRUNTIME_LIB, or
# bin/onnxruntime/libonnxruntime.so.1 (make onnxruntime).
# Extra arguments go to the program (e.g. -n 1000 -c 8 -runs 7, or
# -only cofre -cpuprofile bench/out/infer.prof).
#
# Run from the repository root: bench/infer/run.sh [-n N] [-c N] [-count N] [-runs N]
set -euo pipefail
cd "$(dirname "$0")/../.."

lib=${COFRE_ONNXRUNTIME_LIB:-bin/onnxruntime/libonnxruntime.so.1}
[ -f "$lib" ] || { echo "ONNX Runtime library $lib not found: run make onnxruntime or set COFRE_ONNXRUNTIME_LIB" >&2; exit 2; }

out=bench/out
mkdir -p "$out"
go build -trimpath -o "$out/infer-bench" ./bench/infer

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
echo "$(uname -srm); ${cpu:-unknown CPU}, $(nproc) CPUs; $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM; $(go version | awk '{print $3}'); load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$out/infer-bench" -lib "$lib" "$@"

#!/usr/bin/env bash
# One command for vmservice's numbers: builds the server and the benchmark
# program, then measures every operation through the engine, MCP stdio and
# MCP streamable HTTP, the xdotool / scrot / bash -c command lines, memory,
# and (unless BENCH_SCALE=0, or CI is set) how many busy desktops the
# machine holds. Prints a table; writes bench/out/results.json and .md.
#
#   bench/run.sh                       # everything (make bench)
#   BENCH_SCALE=0 bench/run.sh         # without the scale test
#   bench/run.sh --runs 0.2 --skip http,memory   # quick look; flags go to vmbench (--help)
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $(id -u) -ne 0 ]]; then
	echo "bench/run.sh: the local backend needs root (cgroups, uids per sandbox)" >&2
	exit 1
fi
bash scripts/deps.sh >&2
mkdir -p bench/out
go build -o bench/out/vmservice . >&2
go build -o bench/out/vmbench ./bench/cmd/vmbench >&2
scale=${BENCH_SCALE:-}
if [[ -z $scale ]]; then
	if [[ -n ${CI:-} ]]; then scale=0; else scale=1; fi
fi
args=(--server bench/out/vmservice --out bench/out/results.json)
[[ $scale == 1 ]] && args+=(--scale)
echo "bench: load average $(cut -d' ' -f1-3 /proc/loadavg) at start (2 shared cores: results are noisy while others run tests)" >&2
exec bench/out/vmbench "${args[@]}" "$@"

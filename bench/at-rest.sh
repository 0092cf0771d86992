#!/usr/bin/env bash
# ../shared/netns-run bench/at-rest.sh [nodes] [warm-up s] [window s]: the CPU a
# mesh spends doing nothing (issue 15). Starts `nodes` x `mesh node --serve add`
# on 127.0.0.1 (mDNS), waits `warm-up` seconds, then reports the CPU every node
# used over `window` seconds (user + system, from /proc) and the whole mesh's
# share of the machine's cores. Needs `npm run build` first.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-50}; WARM=${2:-90}; WINDOW=${3:-30}
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
for i in $(seq "$N"); do
  node dist/bin/mesh.js node --serve add --name "rest$i" --listen /ip4/127.0.0.1/tcp/0 >/dev/null 2>&1 &
  pids+=($!)
done
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
sleep "$WARM"
declare -A start
for p in "${pids[@]}"; do start[$p]=$(ticks "$p"); done
sleep "$WINDOW"
used=()
total=0
for p in "${pids[@]}"; do d=$(( $(ticks "$p") - ${start[$p]} )); used+=("$d"); total=$((total + d)); done
sorted=$(printf '%s\n' "${used[@]}" | sort -n)
median=$(echo "$sorted" | awk '{v[NR]=$1} END {print v[int(NR/2)+1]}')
max=$(echo "$sorted" | tail -1)
echo "$N nodes at rest, ${WARM}-$((WARM + WINDOW)) s after start: CPU per node median $((median * 10)) ms, max $((max * 10)) ms over ${WINDOW} s; the mesh $(awk -v t="$total" -v w="$WINDOW" 'BEGIN {printf "%.2f", t / 100 / w}') cores; load $(cut -d' ' -f1-3 /proc/loadavg)"

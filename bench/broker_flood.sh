#!/usr/bin/env bash
# What a hostile program's flood leaves in the broker of `sbox run`: the program
# (tests/run_probe.cc, mode hostile) sends N messages on its broker channel (random bytes with
# stray descriptors, lying lengths, truncated headers, opens with unannounced descriptors,
# new-channel requests), then reads a granted file. Printed: sbox's descriptor count and
# resident memory before and after, and the messages per second.
# Run with optimisation:  ./bazelw run -c opt //bench:broker_flood  [-- N]   (default 1000000)
set -euo pipefail

rounds=${1:-1000000}
sbox=$(realpath tools/sbox)
probe=$(realpath tests/run_probe)
file=$(mktemp)
trap 'rm -f "$file"' EXIT
echo "granted" >"$file"

fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 | wc -l; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

coproc FLOOD { exec "$sbox" run --allow-read "$file" -- "$probe" hostile "$file" "$rounds"; }
pid=$FLOOD_PID
read -r line <&"${FLOOD[0]}"
[[ $line == ready ]] || { echo "unexpected: $line" >&2; exit 1; }
fds_before=$(fds "$pid")
rss_before=$(rss_kb "$pid")
start=$(date +%s.%N)
echo go >&"${FLOOD[1]}"
read -r line <&"${FLOOD[0]}"
[[ $line == flooded ]] || { echo "unexpected: $line" >&2; exit 1; }
end=$(date +%s.%N)
fds_after=$(fds "$pid")
for _ in $(seq 100); do
  [[ $fds_after -eq $fds_before ]] && break
  sleep 0.05
  fds_after=$(fds "$pid")
done
rss_after=$(rss_kb "$pid")
echo go >&"${FLOOD[1]}"
read -r line <&"${FLOOD[0]}"
wait "$pid"

echo "messages: $rounds in $(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.1f", e - s }') s" \
     "($(awk -v n="$rounds" -v s="$start" -v e="$end" 'BEGIN { printf "%.0f", n / (e - s) }')/s)"
echo "sbox descriptors: before $fds_before, after $fds_after"
echo "sbox resident memory: before ${rss_before} kB, after ${rss_after} kB" \
     "($(awk -v a="$rss_after" -v b="$rss_before" 'BEGIN { printf "%.2f", a / b }') x)"
echo "the program then read the granted file: $line"

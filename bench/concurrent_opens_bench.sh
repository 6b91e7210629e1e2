#!/usr/bin/env bash
# Whether `sbox run` serves a multi-threaded program's file calls at once: open_threads opens
# and closes one granted file from 1, 2 and 8 threads (COUNT opens each), under `sbox run`
# (every open a seccomp notification the broker answers) and unsandboxed. Each configuration
# runs REPEAT times, interleaved, and the median opens per second is kept; printed at the end,
# each thread count's throughput against one thread's, sandboxed and not.
# Run with optimisation:  ./bazelw run -c opt //bench:concurrent_opens_bench  [-- REPEAT COUNT]
set -euo pipefail

repeat=${1:-15}
count=${2:-2000}
sbox=$(realpath tools/sbox)
program=$(realpath bench/open_threads)
file=$(mktemp)
trap 'rm -f "$file" "$file".*' EXIT
echo x >"$file"

for ((r = 0; r < repeat; r++)); do
  for threads in 1 2 8; do
    "$program" "$threads" "$count" "$file" >>"$file.direct.$threads"
    "$sbox" run --allow-read "$file" -- "$program" "$threads" "$count" "$file" \
      >>"$file.sbox.$threads"
  done
done

median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
for mode in direct sbox; do
  one=$(median "$file.$mode.1")
  two=$(median "$file.$mode.2")
  eight=$(median "$file.$mode.8")
  echo "$mode: opens/s with 1 thread $one, 2 threads $two ($(ratio "$two" "$one") x)," \
       "8 threads $eight ($(ratio "$eight" "$one") x)"
done

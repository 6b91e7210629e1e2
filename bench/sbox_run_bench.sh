#!/usr/bin/env bash
# What `sbox run` costs a whole program, as ratios of medians measured in the same run:
#   sbox run /bin/true              against the launcher floor: a static program that
#                                   posix_spawns /bin/true and waits (bench/spawn_floor.cc)
#   sbox run file /etc/passwd       against `file /etc/passwd` unsandboxed, brokered and with
#                                   --fast-reads (read-only opens decided by Landlock)
# Run with optimisation:  ./bazelw run -c opt //bench:sbox_run_bench  [-- RUNS]
set -euo pipefail

runs=${1:-300}
sbox=$(realpath tools/sbox)
floor=$(realpath bench/spawn_floor)
policy=$(realpath policies/file.policy)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

measure() {  # NAME COMMAND...: hyperfine's JSON for the commands, in $out/NAME.json
  local name=$1
  shift
  hyperfine --shell=none --warmup 20 --runs "$runs" --style basic \
    --export-json "$out/$name.json" "$@" >&2
}

median() {  # NAME INDEX: the median in microseconds
  jq ".results[$2].median * 1e6 | round" "$out/$1.json"
}

measure true "$floor /bin/true" "$sbox run -- /bin/true" "/bin/true"
measure file "file /etc/passwd" \
  "$sbox run --policy $policy --allow-read /etc/passwd -- file /etc/passwd" \
  "$sbox run --fast-reads --policy $policy --allow-read /etc/passwd -- file /etc/passwd"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
floor_us=$(median true 0)
run_true_us=$(median true 1)
bare_true_us=$(median true 2)
file_us=$(median file 0)
run_file_us=$(median file 1)
fast_file_us=$(median file 2)
echo
echo "medians: /bin/true ${bare_true_us} us; spawn_floor /bin/true ${floor_us} us;" \
     "sbox run /bin/true ${run_true_us} us; file ${file_us} us; sbox run file ${run_file_us} us;" \
     "sbox run --fast-reads file ${fast_file_us} us"
echo "spawn_floor /bin/true / bare /bin/true:      $(ratio "$floor_us" "$bare_true_us")"
echo "sbox run /bin/true / spawn_floor /bin/true:  $(ratio "$run_true_us" "$floor_us")"
echo "sbox run file / file:                        $(ratio "$run_file_us" "$file_us")"
echo "sbox run --fast-reads file / file:           $(ratio "$fast_file_us" "$file_us")"

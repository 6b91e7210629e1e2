#!/usr/bin/env bash
# Five real programs unsandboxed, under `sbox run` (the built-in policy with the grants a new
# user gives) and under `bwrap --ro-bind / / --dev /dev --unshare-all`, measured by one
# hyperfine run per program; prints the medians and each sandbox's ratio to unsandboxed.
# Run with optimisation:  ./bazelw run -c opt //bench:real_programs_bench  [-- RUNS]
set -euo pipefail

runs=${1:-60}
sbox=$(realpath tools/sbox)
inputs=$(realpath tests/real_program_inputs.sh)
command -v bwrap >/dev/null || { echo "real_programs_bench: needs bwrap (apt install bubblewrap)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bash "$inputs" "$work/in" 1
in="$work/in"

# NAME|COMMAND: each reads its input from $in and writes to stdout.
programs=(
  "xz -dc|xz -dc $in/text.xz"
  "python3|/usr/bin/python3 $in/script.py $in/data.json"
  "gawk|gawk {s+=\$1}END{print(s)} $in/nums.txt"
  "sqlite3|sqlite3 $in/db.sqlite select*from(t)"
  "identify|identify $in/img.png"
)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
printf '%-10s %12s %12s %12s\n' program "bare (ms)" "sbox/bare" "bwrap/bare"
for entry in "${programs[@]}"; do
  name=${entry%%|*}
  cmd=${entry#*|}
  json="$work/${name// /_}.json"
  hyperfine --shell=none --warmup 5 --runs "$runs" --style none --export-json "$json" \
    "$cmd" \
    "$sbox run --allow-read /usr --allow-read /etc --allow-read $in -- $cmd" \
    "bwrap --ro-bind / / --dev /dev --unshare-all -- $cmd" >/dev/null
  bare=$(jq '.results[0].median' "$json")
  sbox_median=$(jq '.results[1].median' "$json")
  bwrap_median=$(jq '.results[2].median' "$json")
  printf '%-10s %12.2f %12s %12s\n' "$name" "$(awk -v m="$bare" 'BEGIN { print m * 1000 }')" \
    "$(ratio "$sbox_median" "$bare")" "$(ratio "$bwrap_median" "$bare")"
done

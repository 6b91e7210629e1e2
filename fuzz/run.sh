#!/usr/bin/env bash
# Builds the libFuzzer targets (--config=fuzz: clang-14, ASan, UBSan) and runs each for a
# bounded time, from a scratch copy of its seed corpus (fuzz/seeds/NAME).
#
#   fuzz/run.sh [--seconds N] [--parallel] [--nice] [--out DIR] [TARGET...]
#
#   --seconds N   wall-clock seconds per target (default 30)
#   --parallel    run the targets at once (default: one after another)
#   --nice        run them at nice 19, on idle CPU only
#   --out DIR     keep logs, corpora and crash files there (default: a temporary directory,
#                 removed at the end unless something was found)
#   TARGET        codec policy_include path file_policy violation bpf_eval bpf_kernel
#                 (default: all)
#
# Prints one line per target: wall and CPU seconds, executions, exec/s, coverage (cov: edges,
# ft: features), corpus size, findings (crash, leak, timeout and OOM files); exits 1 when any
# target found something or failed to run, 2 when the build failed. A finding is replayed with
# the target's binary: bazel-bin/fuzz/NAME_fuzzer FILE (or the gcc build's NAME_fuzzer_replay).
set -uo pipefail
cd "$(dirname "$0")/.."

all_targets=(codec policy_include path file_policy violation bpf_eval bpf_kernel)
seconds=30
parallel=0
nice_level=0
out=""
targets=()
while (($#)); do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --parallel) parallel=1; shift ;;
    --nice) nice_level=19; shift ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
((${#targets[@]})) || targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
  [[ -d fuzz/seeds/$t ]] || { echo "unknown target $t (${all_targets[*]})" >&2; exit 2; }
done

# What --config=fuzz needs beyond ./bazelw's packages.
if ! command -v clang-14 >/dev/null || ! command -v ld.lld >/dev/null ||
   ! compgen -G '/usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a' >/dev/null; then
  echo "fuzz: needs clang-14, lld and libFuzzer: apt-get install clang-14 lld-14 lld libclang-rt-14-dev" >&2
  exit 2
fi

bazel_flags=(--config=fuzz --curses=no --color=no)
[[ -n "${SBOX_FUZZ_BAZEL_FLAGS:-}" ]] && read -r -a extra <<<"$SBOX_FUZZ_BAZEL_FLAGS" && bazel_flags+=("${extra[@]}")
labels=()
for t in "${targets[@]}"; do labels+=("//fuzz:${t}_fuzzer"); done
if ! ./bazelw build "${bazel_flags[@]}" "${labels[@]}" 2> >(grep -v "Cannot export local symbol" >&2); then
  echo "fuzz: build failed" >&2
  exit 2
fi
bin=$(./bazelw info "${bazel_flags[@]}" bazel-bin 2>/dev/null)

keep=1
if [[ -z "$out" ]]; then
  out=$(mktemp -d "${TMPDIR:-/tmp}/sbox-fuzz.XXXXXX")
  keep=0
fi
mkdir -p "$out"

# Runs one target; writes $out/NAME.log, $out/NAME.time, crash files $out/NAME/crash-*.
run_one() {
  local t=$1 dir="$out/$1"
  mkdir -p "$dir/corpus" "$dir/artifacts" "$dir/tmp"
  cp fuzz/seeds/"$t"/* "$dir/corpus/"
  TMPDIR="$dir/tmp" /usr/bin/time -f '%e %U %S' -o "$out/$t.time" \
    nice -n "$nice_level" "$bin/fuzz/${t}_fuzzer" -max_total_time="$seconds" -timeout=25 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$dir/artifacts/" \
    "$dir/corpus" >"$out/$t.log" 2>&1
  echo $? >"$out/$t.rc"
}

if ((parallel)); then
  for t in "${targets[@]}"; do run_one "$t" & done
  wait
else
  for t in "${targets[@]}"; do run_one "$t"; done
fi

status=0
printf '%-15s %7s %8s %12s %9s %6s %6s %7s %s\n' target wall_s cpu_s execs exec/s cov ft corpus findings
for t in "${targets[@]}"; do
  log="$out/$t.log"
  read -r wall user sys < <(tail -1 "$out/$t.time") 2>/dev/null || { wall=0; user=0; sys=0; }
  cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.0f", u + s }')
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | grep ' cov: ' | tail -1)
  cov=$(grep -o 'cov: [0-9]*' <<<"$last" | grep -o '[0-9]*')
  ft=$(grep -o 'ft: [0-9]*' <<<"$last" | grep -o '[0-9]*')
  corpus=$(find "$out/$t/corpus" -type f | wc -l)
  findings=$(find "$out/$t/artifacts" -type f | wc -l)
  rc=$(cat "$out/$t.rc")
  note=""
  if ((findings > 0 || rc != 0)); then
    status=1
    note=" (exit $rc; $(find "$out/$t/artifacts" -type f | tr '\n' ' '))"
  fi
  printf '%-15s %7.0f %8s %12s %9s %6s %6s %7s %s%s\n' "$t" "$wall" "$cpu" "${execs:-?}" \
    "${rate:-?}" "${cov:-?}" "${ft:-?}" "$corpus" "$findings" "$note"
done
if ((status != 0 || keep)); then
  echo "fuzz: logs, corpora and findings in $out"
else
  rm -rf "$out"
fi
exit "$status"

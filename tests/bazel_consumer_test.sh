#!/usr/bin/env bash
# Another Bazel workspace uses sbox as a local repository (examples/bazel_consumer): a copy of
# sbox's tree, the consumer's own Bazel server (its output root in TEST_TMPDIR, offline as
# sbox's own build is), its binary built and run. It sandboxes a parser call and a crash.
#
# Runs in the root pass of .ci/run only (tag root_pass_only): it builds sbox's libraries again
# in a Bazel of its own (about a minute on 2 cores), which tells nothing new when run as nobody.
set -euo pipefail

source "$(dirname "$0")/source_copy.sh"

# sbox's tree, from the files the test is given (so its result is cached as any test's).
work="${TEST_TMPDIR}/work"
copy_sources "${work}/sbox"
export HOME="${TEST_TMPDIR}/home"
mkdir -p "${HOME}"

cd "${work}/sbox/examples/bazel_consumer"
bazel_flags=(--output_user_root="${TEST_TMPDIR}/bazel_root")
cleanup() { bazel "${bazel_flags[@]}" shutdown >/dev/null 2>&1 || true; }
trap cleanup EXIT

if ! bazel "${bazel_flags[@]}" build --curses=no --color=no //:word_count >"${TEST_TMPDIR}/build.log" 2>&1; then
  tail -n 40 "${TEST_TMPDIR}/build.log"
  echo "FAIL: the consumer workspace did not build" >&2
  exit 1
fi
output=$(./bazel-bin/word_count)
echo "${output}"
grep -qx "words: 9" <<<"${output}" || { echo "FAIL: wrong word count" >&2; exit 1; }
grep -q "^crash: ABORTED: crash: crashed: killed by signal SIGSEGV" <<<"${output}" ||
  { echo "FAIL: the crash was not a Status" >&2; exit 1; }
echo PASS

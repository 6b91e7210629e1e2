#!/usr/bin/env bash
# The CMake build's libraries are made of exactly the files of Bazel's cc_library targets in the
# same packages. CMakeLists.txt finds them by glob and naming (no *_test.cc, *_main.cc, fuzzers),
# which a file that is not a library's (a test helper with another name, say) or a library file
# the glob misses would silently break. CMake's list (sbox_library_files.txt, written when it
# configures) is compared with `bazel query` of the same packages, over a copy of the sources.
#
# Cost: a CMake configure and a query by a Bazel of its own (--batch, output root in
# TEST_TMPDIR), about 5 s. Runs in the root pass of .ci/run only (tag root_pass_only): as nobody
# it would compare the same files again.
set -euo pipefail
source "$(dirname "$0")/source_copy.sh"

src="${TEST_TMPDIR}/src"
copy_sources "${src}"
export HOME="${TEST_TMPDIR}/home"
mkdir -p "${HOME}"

if ! cmake -S "${src}" -B "${TEST_TMPDIR}/build" >"${TEST_TMPDIR}/configure.log" 2>&1; then
  tail -n 40 "${TEST_TMPDIR}/configure.log"
  echo "FAIL: CMake did not configure" >&2
  exit 1
fi
cmake_list=$(cat "${TEST_TMPDIR}/build/sbox_library_files.txt")

# The packages CMake globs, as a query's target set; the fuzz entry point's library is Bazel's
# only (clang's -fsanitize=fuzzer links it).
packages=$(cut -d/ -f1 <<<"${cmake_list}" | sort -u | sed 's|.*|//&:*|' | paste -sd+)
libraries="kind(cc_library, ${packages}) except attr(name, fuzzer, ${packages})"
cd "${src}"
if ! bazel_list=$(bazel --batch --output_user_root="${TEST_TMPDIR}/bazel_root" query \
    --noshow_progress "labels(srcs, ${libraries}) + labels(hdrs, ${libraries})" \
    2>"${TEST_TMPDIR}/query.log"); then
  tail -n 40 "${TEST_TMPDIR}/query.log"
  echo "FAIL: bazel query" >&2
  exit 1
fi
bazel_list=$(sed 's|^//||; s|:|/|' <<<"${bazel_list}" | sort)

# "<" lines are Bazel's only, ">" lines CMake's only.
if ! difference=$(diff <(echo "${bazel_list}") <(echo "${cmake_list}")); then
  echo "FAIL: CMake's library files differ from Bazel's cc_library srcs and hdrs (${packages}):"
  echo "${difference}"
  exit 1
fi
echo "PASS: CMake's library files are Bazel's ($(wc -l <<<"${cmake_list}") files, ${packages})"

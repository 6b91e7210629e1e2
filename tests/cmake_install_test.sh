#!/usr/bin/env bash
# The CMake build outside Bazel: a copy of the sources (//:cmake_sources) configured, built and
# installed into a temporary prefix; the consumer examples/consumer built against the
# installation twice, with find_package(sbox) and with pkg-config, and run (a line count and a
# crash, each as a Status); the installed `sbox` CLI runs a program.
#
# Runs in the root pass of .ci/run only (tag root_pass_only, which its nobody pass filters out,
# as for bazel_consumer_test): it compiles the whole library again, 106 s to 208 s measured on 2
# shared cores, which running as nobody tells nothing new about, and CI would pay twice.
set -euo pipefail

runfiles="${TEST_SRCDIR}/${TEST_WORKSPACE}"
src="${TEST_TMPDIR}/src"
build="${TEST_TMPDIR}/build"
prefix="${TEST_TMPDIR}/prefix"
export HOME="${TEST_TMPDIR}/home"
mkdir -p "${src}" "${HOME}"

# The runfiles are symlinks into the checkout: copied as files, so that CMake sees a plain tree.
for entry in CMakeLists.txt cmake kernel proto sandboxee broker launcher call tools policies \
    examples; do
  cp -rL "${runfiles}/${entry}" "${src}/"
done

# Runs a step quietly; on failure shows the end of its log and names the step.
step() {
  local name=$1
  shift
  local log="${TEST_TMPDIR}/${name// /_}.log"
  if ! "$@" >"${log}" 2>&1; then
    tail -n 40 "${log}" >&2
    echo "FAIL: ${name}: $*" >&2
    exit 1
  fi
}

start=${SECONDS}
step "configure" cmake -S "${src}" -B "${build}"
step "build" cmake --build "${build}" -j2
step "install" cmake --install "${build}" --prefix "${prefix}"
echo "configured, built and installed in $((SECONDS - start)) s"

for file in include/sbox/call/sandbox.h include/sbox/sandboxee/entry_point.h \
    include/sbox/launcher/launcher.h include/sbox/broker/file_policy.h \
    include/sbox/proto/unique_fd.h include/sbox/kernel/landlock.h lib/libsbox.a \
    lib/libsbox_call_main.a bin/sbox share/man/man1/sbox.1 lib/cmake/sbox/sboxConfig.cmake \
    lib/cmake/sbox/sboxTargets.cmake lib/pkgconfig/sbox.pc; do
  [[ -f "${prefix}/${file}" ]] || { echo "FAIL: not installed: ${file}" >&2; exit 1; }
done

# Checks one consumer binary's output: the line count, and the crash as a Status.
check_consumer() {
  local name=$1 binary=$2 output
  if ! output=$("${binary}" 2>&1); then
    echo "${output}"
    echo "FAIL: ${name}: the consumer exited with an error" >&2
    exit 1
  fi
  echo "${name}:"
  echo "${output}"
  grep -qx "lines: 3" <<<"${output}" || { echo "FAIL: ${name}: wrong line count" >&2; exit 1; }
  grep -q "^crash: ABORTED: crash: crashed: killed by signal SIGSEGV" <<<"${output}" ||
    { echo "FAIL: ${name}: the crash was not a Status" >&2; exit 1; }
  grep -qx "crash is kCrashed: yes" <<<"${output}" ||
    { echo "FAIL: ${name}: CallFailureOf is not kCrashed" >&2; exit 1; }
}

consumer="${src}/examples/consumer"
step "consumer cmake configure" cmake -S "${consumer}" -B "${TEST_TMPDIR}/consumer_build" \
  -DCMAKE_PREFIX_PATH="${prefix}"
step "consumer cmake build" cmake --build "${TEST_TMPDIR}/consumer_build" -j2
check_consumer "find_package(sbox)" "${TEST_TMPDIR}/consumer_build/parse_lines"

cp -r "${consumer}" "${TEST_TMPDIR}/consumer_make"
step "consumer make" env PKG_CONFIG_PATH="${prefix}/lib/pkgconfig" \
  make -C "${TEST_TMPDIR}/consumer_make"
check_consumer "pkg-config" "${TEST_TMPDIR}/consumer_make/parse_lines"

"${prefix}/bin/sbox" --help | grep -q "^usage: sbox" ||
  { echo "FAIL: sbox --help printed no usage" >&2; exit 1; }
# Under the built-in policy: the filter policy_compiler compiled at build time.
step "sbox run" "${prefix}/bin/sbox" run -- /bin/true
echo "sbox run -- /bin/true: exit 0"
echo PASS

#!/usr/bin/env bash
# Runs one test as an unprivileged user (nobody, 65534:65534, no supplementary group, no
# capability), for `bazel test --run_under=$PWD/tests/run_as_nobody.sh --strategy=TestRunner=local`
# (.ci/run's second pass). Bazel builds as root and gives the test its environment; this wrapper
# then
#   - makes the test's TEST_TMPDIR, HOME, outputs and XML file places nobody may write, and
#     copies the XML back to where Bazel reads it;
#   - when the runfiles live under /root (Bazel's output base of a root build; /root is 0700),
#     runs the test in a mount namespace of its own where /root is a 0755 tmpfs holding only
#     /root/.cache, bound from the real one: every path stays the same, nothing of root's else
#     is reachable, and the host's mounts are untouched.
# Run by someone else than root, it just runs the test.
set -euo pipefail
if [[ "$(id -u)" != 0 ]]; then exec "$@"; fi
readonly user=65534

work="$(mktemp -d "${TMPDIR:-/tmp}/sbox-nobody.XXXXXX")"
trap 'rm -rf "$work"' EXIT
chmod 0755 "$work"
mkdir -p "$work/tmp" "$work/outputs"
chown -R "$user:$user" "$work/tmp" "$work/outputs"
real_xml="${XML_OUTPUT_FILE:-}"
export TEST_TMPDIR="$work/tmp" HOME="$work/tmp" TMPDIR="$work/tmp"
export TEST_UNDECLARED_OUTPUTS_DIR="$work/outputs" XML_OUTPUT_FILE="$work/outputs/test.xml"
unset TEST_PREMATURE_EXIT_FILE TEST_SHARD_STATUS_FILE TEST_INFRASTRUCTURE_FAILURE_FILE

drop=(setpriv --reuid="$user" --regid="$user" --clear-groups --inh-caps=-all --bounding-set=-all)
status=0
if [[ "$(realpath -m "${TEST_SRCDIR:-$PWD}")" == /root/* ]]; then
  # The same paths, reachable by nobody, in a mount namespace of the test's own.
  unshare --mount --propagation private -- bash -c '
    set -euo pipefail
    mkdir "$1/cache"
    mount --bind /root/.cache "$1/cache"
    mount -t tmpfs -o mode=0755 sbox-nobody-root /root
    mkdir /root/.cache
    mount --move "$1/cache" /root/.cache
    cd "$PWD"
    shift
    exec "$@"' bash "$work" "${drop[@]}" -- "$@" || status=$?
else
  "${drop[@]}" -- "$@" || status=$?
fi
if [[ -n "$real_xml" && -f "$XML_OUTPUT_FILE" ]]; then cp "$XML_OUTPUT_FILE" "$real_xml"; fi
exit "$status"

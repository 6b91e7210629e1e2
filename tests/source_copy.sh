# Sourced by the tests that build sbox in a workspace of their own: `copy_sources DIR` makes in
# DIR, writable, the tree their runfiles come from (//:cmake_sources, //:workspace_sources).
copy_sources() {
  mkdir -p "$1"
  # The runfiles are symlinks into Bazel's tree: copy the files themselves.
  cp -rL "${TEST_SRCDIR}/${TEST_WORKSPACE}/." "$1"
  # sbox's own local repositories come as runfiles of their own; "external" is Bazel's name for
  # them, not a directory of the source tree.
  rm -rf "$1/external"
  local repository
  for repository in rules_cc remote_coverage_tools; do
    mkdir -p "$1/third_party/${repository}"
    cp -rL "${TEST_SRCDIR}/${repository}/." "$1/third_party/${repository}"
  done
  chmod -R u+w "$1"
}

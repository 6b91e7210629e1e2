"""The external repositories sbox's targets need, for another workspace that uses sbox.

In the other workspace's WORKSPACE:

    local_repository(name = "sbox", path = "/path/to/sbox")
    load("@sbox//:repositories.bzl", "sbox_dependencies")
    sbox_dependencies()

All local, as in sbox's own WORKSPACE: Bazel 4.2.3 from Debian, offline, Debian's libraries
under /usr. A repository the workspace declared itself is left as it is.
"""

def sbox_dependencies(sbox_path = None):
    """Declares rules_cc, rules_java, remote_coverage_tools and system, unless already declared.

    Args:
      sbox_path: where sbox's checkout is; by default the path of local_repository(name = "sbox"),
        which must then be declared first.
    """
    if sbox_path == None:
        sbox = native.existing_rule("sbox")
        if not sbox or "path" not in sbox:
            fail("sbox_dependencies: declare local_repository(name = \"sbox\", path = ...) " +
                 "before calling it, or give sbox_path")
        sbox_path = sbox["path"]
    if not native.existing_rule("rules_cc"):
        native.local_repository(name = "rules_cc", path = sbox_path + "/third_party/rules_cc")
    if not native.existing_rule("rules_java"):
        native.local_repository(name = "rules_java", path = "/usr/share/bazel/rules/java")
    if not native.existing_rule("remote_coverage_tools"):
        native.local_repository(
            name = "remote_coverage_tools",
            path = sbox_path + "/third_party/remote_coverage_tools",
        )
    if not native.existing_rule("system"):
        native.new_local_repository(
            name = "system",
            build_file = "@sbox//third_party/system:system.BUILD",
            path = "/usr",
        )

"""sbox_fuzz_target: one libFuzzer entry point, its seed corpus, a replay binary and test."""

def sbox_fuzz_target(name, srcs, deps, seeds):
    """Defines, for the entry point LLVMFuzzerTestOneInput in `srcs`:

    NAME_lib          the entry point as a library (alwayslink)
    NAME_replay       runs it once per file named on its command line (any compiler)
    NAME_replay_test  replays the seed corpus `seeds` (a glob) in the normal build
    NAME              the libFuzzer binary: only with --config=fuzz (clang), tag manual
    NAME_seeds        the seed files
    """
    native.cc_library(
        name = name + "_lib",
        srcs = srcs,
        deps = deps,
        alwayslink = True,
    )
    native.filegroup(
        name = name + "_seeds",
        srcs = native.glob([seeds]),
    )
    native.cc_binary(
        name = name + "_replay",
        deps = [":" + name + "_lib", ":replay_main"],
    )
    native.sh_test(
        name = name + "_replay_test",
        size = "small",
        srcs = ["replay_test.sh"],
        args = [
            "$(location :" + name + "_replay)",
            "$(locations :" + name + "_seeds)",
        ],
        data = [":" + name + "_replay", ":" + name + "_seeds"],
    )
    native.cc_binary(
        name = name,
        deps = [":" + name + "_lib"],
        linkopts = ["-fsanitize=fuzzer"],
        tags = ["manual"],
    )

"""tessera_fuzz_target: a libFuzzer target and a replay test of its inputs.

For a fuzz target `name` whose `srcs` define LLVMFuzzerTestOneInput:

  name              cc_binary, tagged manual. In --config=fuzz (clang,
                    scripts/fuzz.sh) it links libFuzzer's main; elsewhere
                    replay_main.cc, which runs the inputs named on its command
                    line once (e.g. to reproduce a crash with gcc).
  name_replay_test  cc_test in every config: the same code over the committed
                    seeds (corpus/<name>/) and crash reproducers
                    (regressions/<name>/), so `bazel test //...` keeps the
                    target compiling and every input it ever crashed on fixed.
"""

def tessera_fuzz_target(name, srcs, deps = []):
    inputs = native.glob(["corpus/%s/**" % name, "regressions/%s/**" % name])
    native.cc_binary(
        name = name,
        testonly = True,
        srcs = srcs,
        deps = deps + [":fuzz_support"] + select({
            ":fuzzing": [],
            "//conditions:default": [":replay_main"],
        }),
        linkopts = select({
            ":fuzzing": ["-fsanitize=fuzzer"],
            "//conditions:default": [],
        }),
        tags = ["manual"],
    )
    native.cc_test(
        name = name + "_replay_test",
        size = "small",
        srcs = srcs,
        deps = deps + [":fuzz_support", ":replay_main"],
        data = inputs,
        args = ["fuzz/corpus/" + name, "fuzz/regressions/" + name],
    )

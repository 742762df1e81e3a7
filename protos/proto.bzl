"""tessera_proto_library: C++ (and optionally gRPC C++) code from .proto files.

Runs Debian's /usr/bin/protoc in a genrule (no protobuf Bazel rules are available
offline) and wraps the generated sources in a cc_library named `name`. Imports are
written from the workspace root: `import "protos/tensor.proto";`.

Args:
  name: the cc_library to create; `<name>_files` is a filegroup of the .proto files
    this library and its dependencies need.
  srcs: .proto files in this package.
  deps: other tessera_proto_library targets whose .proto files srcs import.
  grpc: also run grpc_cpp_plugin and link gRPC (only for files with services).
"""

def tessera_proto_library(name, srcs, deps = [], grpc = False, visibility = None):
    bases = [s[:-len(".proto")] for s in srcs]
    outs = [b + ".pb.h" for b in bases] + [b + ".pb.cc" for b in bases]
    if grpc:
        outs += [b + ".grpc.pb.h" for b in bases] + [b + ".grpc.pb.cc" for b in bases]

    native.filegroup(
        name = name + "_files",
        srcs = srcs + [d + "_files" for d in deps],
        visibility = visibility,
    )

    cmd = "/usr/bin/protoc -I. --cpp_out=$(GENDIR)"
    if grpc:
        cmd += " --grpc_out=$(GENDIR) --plugin=protoc-gen-grpc=/usr/bin/grpc_cpp_plugin"
    cmd += " " + " ".join(["$(location %s)" % s for s in srcs])

    native.genrule(
        name = name + "_gen",
        srcs = [name + "_files"],
        outs = outs,
        cmd = cmd,
        tools = srcs,
    )

    native.cc_library(
        name = name,
        srcs = [o for o in outs if o.endswith(".cc")],
        hdrs = [o for o in outs if o.endswith(".h")],
        deps = deps + (["@debian//:grpc"] if grpc else ["@debian//:protobuf"]),
        visibility = visibility,
    )

"""Code generation with the system protoc/grpc_cpp_plugin/flatc (no downloads)."""

load("@system//:tools.bzl", "FLATC", "GRPC_CPP_PLUGIN", "PROTOC")

def comet_proto_library(name, srcs, grpc = False, deps = []):
    """C++ library generated from .proto files in //proto.

    Args:
      name: target name of the cc_library.
      srcs: .proto files (in this package).
      grpc: also generate gRPC service stubs.
      deps: other comet_proto_library targets the protos import.
    """
    bases = [s[:-len(".proto")] for s in srcs]
    outs = []
    for b in bases:
        outs += [b + ".pb.h", b + ".pb.cc"]
        if grpc:
            outs += [b + ".grpc.pb.h", b + ".grpc.pb.cc"]
    cmd = "%s -I. --cpp_out=$(GENDIR)" % PROTOC
    if grpc:
        cmd += " --grpc_out=$(GENDIR) --plugin=protoc-gen-grpc=%s" % GRPC_CPP_PLUGIN
    cmd += " " + " ".join(["$(location %s)" % s for s in srcs])
    native.genrule(
        name = name + "_gen",
        srcs = srcs + [d + "_srcs" for d in deps],
        outs = outs,
        cmd = cmd,
    )
    native.filegroup(name = name + "_srcs", srcs = srcs)
    native.cc_library(
        name = name,
        srcs = [o for o in outs if o.endswith(".cc")],
        hdrs = [o for o in outs if o.endswith(".h")],
        deps = deps + ["@system//:protobuf"] + (["@system//:grpc"] if grpc else []),
        copts = ["-Wno-unused-parameter"],
    )

def comet_flatbuffers_library(name, srcs):
    """Header-only C++ library generated from .fbs schemas."""
    outs = [s[:-len(".fbs")] + "_generated.h" for s in srcs]
    native.genrule(
        name = name + "_gen",
        srcs = srcs,
        outs = outs,
        cmd = "%s --cpp --scoped-enums -o $(@D) $(SRCS)" % FLATC,
    )
    native.cc_library(
        name = name,
        hdrs = outs,
        deps = ["@system//:flatbuffers"],
    )

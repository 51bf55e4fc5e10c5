"""Repository rules that describe Debian's system libraries to Bazel.

Nothing is downloaded: `system_libs` asks pkg-config for link flags and finds the
code generators (protoc, grpc_cpp_plugin, flatc) on PATH; `local_python` exposes
the headers of the interpreter that runs the build.
"""

# Each target: (pkg-config modules, extra linkopts, deps).
_LIBS = {
    "absl": ([
        "absl_status",
        "absl_statusor",
        "absl_strings",
        "absl_str_format",
        "absl_synchronization",
        "absl_time",
        "absl_flat_hash_map",
        "absl_flat_hash_set",
        "absl_hash",
        "absl_random_random",
    ], ["-lpthread"], []),
    "protobuf": (["protobuf"], [], [":absl"]),
    "grpc": (["grpc++"], [], [":protobuf", ":absl"]),
    "flatbuffers": (["flatbuffers"], [], []),
    "gtest": (["gtest"], ["-lpthread"], []),
    "gtest_main": (["gtest_main"], [], [":gtest"]),
    "boost": ([], ["-lpthread"], []),
    "openssl": (["openssl"], [], []),
    "sqlite3": (["sqlite3"], [], []),
    "hiredis": (["hiredis"], [], []),
}

def _pkg_config(ctx, modules):
    if not modules:
        return []
    res = ctx.execute(["pkg-config", "--libs"] + modules)
    if res.return_code != 0:
        fail("pkg-config --libs %s failed: %s\nRun ./build.sh to install the system packages." %
             (" ".join(modules), res.stderr))
    seen = []
    for flag in res.stdout.strip().split(" "):
        # Keep the last occurrence of each library so link order stays valid.
        if flag:
            if flag in seen:
                seen.remove(flag)
            seen.append(flag)
    return seen

def _which(ctx, name):
    path = ctx.which(name)
    if path == None:
        fail("%s not found on PATH. Run ./build.sh to install the system packages." % name)
    return str(path)

def _system_libs_impl(ctx):
    lines = ['package(default_visibility = ["//visibility:public"])', ""]
    for name, (modules, extra, deps) in _LIBS.items():
        linkopts = _pkg_config(ctx, modules) + extra
        lines.append("cc_library(")
        lines.append('    name = "%s",' % name)
        lines.append("    linkopts = %s," % repr(linkopts))
        lines.append("    deps = %s," % repr(deps))
        lines.append(")")
        lines.append("")
    ctx.file("BUILD.bazel", "\n".join(lines))
    ctx.file("WORKSPACE", 'workspace(name = "%s")\n' % ctx.name)
    ctx.file("tools.bzl", "\n".join([
        'PROTOC = "%s"' % _which(ctx, "protoc"),
        'GRPC_CPP_PLUGIN = "%s"' % _which(ctx, "grpc_cpp_plugin"),
        'FLATC = "%s"' % _which(ctx, "flatc"),
        "",
    ]))

system_libs = repository_rule(
    implementation = _system_libs_impl,
    local = True,
    environ = ["PATH", "PKG_CONFIG_PATH"],
)

def _local_python_impl(ctx):
    python = ctx.os.environ.get("COMET_PYTHON") or ctx.which("python3")
    if python == None:
        fail("python3 not found")
    res = ctx.execute([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['include'])"])
    if res.return_code != 0:
        fail("cannot query python include dir: " + res.stderr)
    include = res.stdout.strip()
    ctx.symlink(include, "include")
    ctx.file("WORKSPACE", 'workspace(name = "%s")\n' % ctx.name)
    ctx.file("BUILD.bazel", "\n".join([
        'package(default_visibility = ["//visibility:public"])',
        "cc_library(",
        '    name = "headers",',
        '    hdrs = glob(["include/**/*.h"]),',
        '    includes = ["include"],',
        ")",
        "",
    ]))

local_python = repository_rule(
    implementation = _local_python_impl,
    local = True,
    environ = ["PATH", "COMET_PYTHON"],
)

"""Build zeusc, the CPython extension over the Zeus-C library.

Where the library is found, first match wins:

  ZEUS_BUILD_DIR=<cmake build folder>   headers from the source tree's include/ (ZEUS_SOURCE_DIR,
                                        default: this folder's parent) and <build>/include
                                        (the generated version.h); libzeus.so from <build>.
  ZEUS_PREFIX=<install prefix>          <prefix>/include and <prefix>/lib{,64,/<multiarch>}.
  pkg-config zeus                       (PKG_CONFIG_PATH=<prefix>/lib/pkgconfig for a private
                                        prefix).
  ../build                              a plain `make build` next to this folder.

The extension records the library folder as its RPATH, so it finds libzeus.so.0 without
LD_LIBRARY_PATH. Example, from the repository root:

  make build
  python3 -m venv --system-site-packages .venv
  ZEUS_BUILD_DIR=$PWD/build .venv/bin/pip install --no-build-isolation ./python
"""

import glob
import os
import shlex
import subprocess
import sys

from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def _has_lib(folder):
    return bool(glob.glob(os.path.join(folder, "libzeus.so*")))


def _from_build(build):
    build = os.path.abspath(build)
    source = os.path.abspath(os.environ.get("ZEUS_SOURCE_DIR") or os.path.join(HERE, ".."))
    if not _has_lib(build):
        sys.exit(f"zeusc: no libzeus.so in ZEUS_BUILD_DIR={build}; build the library first (make build)")
    return [os.path.join(source, "include"), os.path.join(build, "include")], [build]


def _from_prefix(prefix):
    prefix = os.path.abspath(prefix)
    candidates = ["lib", "lib64"] + [os.path.relpath(p, prefix) for p in glob.glob(os.path.join(prefix, "lib", "*-linux-gnu"))]
    for sub in candidates:
        if _has_lib(os.path.join(prefix, sub)):
            return [os.path.join(prefix, "include")], [os.path.join(prefix, sub)]
    sys.exit(f"zeusc: no libzeus.so under ZEUS_PREFIX={prefix}")


def _from_pkg_config():
    try:
        cflags = subprocess.run(["pkg-config", "--cflags-only-I", "zeus"], check=True, capture_output=True, text=True).stdout
        libs = subprocess.run(["pkg-config", "--libs-only-L", "zeus"], check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    inc = [f[2:] for f in shlex.split(cflags) if f.startswith("-I")]
    lib = [f[2:] for f in shlex.split(libs) if f.startswith("-L")]
    return inc, lib


def zeus_dirs():
    if os.environ.get("ZEUS_BUILD_DIR"):
        return _from_build(os.environ["ZEUS_BUILD_DIR"])
    if os.environ.get("ZEUS_PREFIX"):
        return _from_prefix(os.environ["ZEUS_PREFIX"])
    found = _from_pkg_config()
    if found is not None:
        return found
    default = os.path.join(HERE, "..", "build")
    if _has_lib(default):
        return _from_build(default)
    sys.exit("zeusc: cannot find the Zeus-C library: set ZEUS_BUILD_DIR or ZEUS_PREFIX (see setup.py)")


include_dirs, library_dirs = zeus_dirs()

extension = Extension(
    "zeusc._zeusc",
    sources=sorted(glob.glob(os.path.join("csrc", "*.c"))),
    depends=[os.path.join("csrc", "zeusc.h")],
    include_dirs=include_dirs,
    library_dirs=library_dirs,
    runtime_library_dirs=[d for d in library_dirs if d not in ("/usr/lib", "/lib")],
    libraries=["zeus"],
    extra_compile_args=["-std=c11", "-Wall", "-Wextra"],
)

setup(ext_modules=[extension])

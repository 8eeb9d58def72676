"""Build zeusc, the CPython extension over the Zeus-C library.

Where the library comes from, first match wins:

  ZEUS_BUILD_DIR=<cmake build folder>   headers from the source tree's include/ (ZEUS_SOURCE_DIR,
                                        default: this folder's parent) and <build>/include
                                        (the generated version.h); libzeus.so from <build>.
  ZEUS_PREFIX=<install prefix>          <prefix>/include and <prefix>/lib{,64,/<multiarch>}.
  pkg-config zeus                       an installed libzeus (the zeus Debian package, or
                                        PKG_CONFIG_PATH=<prefix>/lib/pkgconfig for a private
                                        prefix).
  ../build                              a plain `make build` next to this folder.
  the C sources                         none of the above (or ZEUS_FROM_SOURCE=1): libzeus is
                                        compiled from the source tree (this folder's parent,
                                        or libzeus/ inside an sdist) and linked statically
                                        into the extension. Needs a C compiler and the
                                        libcurl and cJSON development packages.

When linking a shared libzeus the extension records its folder as its RPATH, so it finds
libzeus.so.0 without LD_LIBRARY_PATH. Example, from the repository root, on a machine without
PyPI (Debian's python3-setuptools stands in for build isolation):

  python3 -m venv --system-site-packages .venv
  .venv/bin/pip install --no-build-isolation ./python

An sdist (`python3 setup.py sdist`, or `python3 -m build --sdist`) carries the library's
sources in libzeus/, so it installs anywhere with a compiler.
"""

import glob
import os
import re
import shlex
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.sdist import sdist

HERE = os.path.dirname(os.path.abspath(__file__))
# Inside an sdist the library's sources sit in libzeus/; in a checkout, in this folder's parent.
BUNDLED = os.path.join(HERE, "libzeus")
PARENT = os.path.dirname(HERE)


def _has_lib(folder):
    return bool(glob.glob(os.path.join(folder, "libzeus.so*")))


def _from_build(build):
    build = os.path.abspath(build)
    source = os.path.abspath(os.environ.get("ZEUS_SOURCE_DIR") or PARENT)
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


def _pkg_config(*args):
    try:
        out = subprocess.run(["pkg-config", *args], check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return shlex.split(out)


def _from_pkg_config():
    cflags = _pkg_config("--cflags-only-I", "zeus")
    libs = _pkg_config("--libs-only-L", "zeus")
    if cflags is None or libs is None:
        return None
    inc = [f[2:] for f in cflags if f.startswith("-I")]
    lib = [f[2:] for f in libs if f.startswith("-L")]
    return inc, lib


def zeus_dirs():
    """(include_dirs, library_dirs) of a built libzeus, or None to compile it from source."""
    if os.environ.get("ZEUS_FROM_SOURCE") == "1":
        return None
    if os.environ.get("ZEUS_BUILD_DIR"):
        return _from_build(os.environ["ZEUS_BUILD_DIR"])
    if os.environ.get("ZEUS_PREFIX"):
        return _from_prefix(os.environ["ZEUS_PREFIX"])
    found = _from_pkg_config()
    if found is not None:
        return found
    default = os.path.join(PARENT, "build")
    if _has_lib(default):
        return _from_build(default)
    return None


def _is_source_tree(root):
    return os.path.isdir(os.path.join(root, "src")) and os.path.isfile(os.path.join(root, "include", "zeus", "zeus.h"))


def source_tree():
    for root in (BUNDLED, PARENT):
        if _is_source_tree(root):
            return root
    sys.exit(
        "zeusc: no libzeus found (ZEUS_BUILD_DIR, ZEUS_PREFIX, pkg-config zeus, ../build) and no "
        f"C sources to build it from ({BUNDLED} or {PARENT}); see setup.py"
    )


def zeus_version(root):
    """The library's version: CMakeLists.txt's project() in a checkout, libzeus/VERSION in an sdist."""
    cmake = os.path.join(root, "CMakeLists.txt")
    if os.path.isfile(cmake):
        with open(cmake, encoding="utf-8") as f:
            m = re.search(r"project\(\s*zeus\s+VERSION\s+(\d+)\.(\d+)\.(\d+)", f.read())
        if m:
            return m.groups()
    with open(os.path.join(root, "VERSION"), encoding="utf-8") as f:
        return tuple(f.read().strip().split("."))


def write_version_h(root, out_dir):
    """include/zeus/version.h from version.h.in, as CMake's configure_file writes it."""
    major, minor, patch = zeus_version(root)
    values = {
        "PROJECT_VERSION": f"{major}.{minor}.{patch}",
        "PROJECT_VERSION_MAJOR": major,
        "PROJECT_VERSION_MINOR": minor,
        "PROJECT_VERSION_PATCH": patch,
    }
    with open(os.path.join(root, "include", "zeus", "version.h.in"), encoding="utf-8") as f:
        text = re.sub(r"@(\w+)@", lambda m: values[m.group(1)], f.read())
    os.makedirs(os.path.join(out_dir, "zeus"), exist_ok=True)
    path = os.path.join(out_dir, "zeus", "version.h")
    old = None
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            old = f.read()
    if old != text:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)


def _deps(pkg, fallback):
    """Compiler and linker flags of a pkg-config package, or the plain -l flag without one."""
    cflags = _pkg_config("--cflags", pkg)
    libs = _pkg_config("--libs", pkg)
    if cflags is None or libs is None:
        return [], [fallback]
    return cflags, libs


class BuildExt(build_ext):
    """Link a built libzeus when one is found; otherwise compile it and link it in statically."""

    def build_extensions(self):
        found = zeus_dirs()
        # A build folder reused after the library appeared or went away must relink, even
        # though no source changed: remember where the last build took libzeus from.
        stamp = os.path.join(self.build_temp, "zeusc-libzeus-source")
        how = repr(found if found is not None else "from source")
        last = None
        if os.path.exists(stamp):
            with open(stamp, encoding="utf-8") as f:
                last = f.read()
        if last != how:
            self.force = True
        for ext in self.extensions:
            if found is not None:
                include_dirs, library_dirs = found
                ext.include_dirs += include_dirs
                ext.library_dirs += library_dirs
                ext.runtime_library_dirs += [d for d in library_dirs if d not in ("/usr/lib", "/lib")]
                ext.libraries.append("zeus")
            else:
                self._link_from_source(ext)
        super().build_extensions()
        os.makedirs(self.build_temp, exist_ok=True)
        with open(stamp, "w", encoding="utf-8") as f:
            f.write(how)

    def _link_from_source(self, ext):
        root = source_tree()
        print(f"zeusc: no built libzeus found; compiling it from {root}")
        generated = os.path.join(os.path.abspath(self.build_temp), "libzeus-include")
        write_version_h(root, generated)
        includes = [os.path.join(root, "include"), generated]
        dep_cflags, dep_libs = [], []
        for pkg, fallback in (("libcurl", "-lcurl"), ("libcjson", "-lcjson")):
            c, l = _deps(pkg, fallback)
            dep_cflags += c
            dep_libs += l
        sources = sorted(glob.glob(os.path.join(root, "src", "**", "*.c"), recursive=True))
        # As CMakeLists.txt builds it: C11 with _GNU_SOURCE, hidden visibility, -Wall -Wextra.
        cflags = ["-std=c11", "-fvisibility=hidden", "-Wall", "-Wextra"] + dep_cflags
        out = os.path.join(os.path.abspath(self.build_temp), "libzeus")

        def compile_one(src):
            return self.compiler.compile(
                [src],
                output_dir=out,
                macros=[("_GNU_SOURCE", None)],
                include_dirs=includes + [os.path.join(root, "src")],
                extra_postargs=cflags,
                debug=self.debug,
            )

        jobs = self.parallel if isinstance(self.parallel, int) and self.parallel > 0 else (os.cpu_count() or 1)
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            objects = [o for objs in pool.map(compile_one, sources) for o in objs]
        self.compiler.create_static_lib(objects, "zeus_bundled", output_dir=out)
        ext.include_dirs += includes
        ext.extra_objects.append(self.compiler.library_filename("zeus_bundled", output_dir=out))
        # libzeus's symbols stay inside the extension; its dependencies are Debian's shared libraries.
        ext.extra_link_args += ["-Wl,--exclude-libs,ALL"] + dep_libs + ["-lpthread", "-ldl", "-lm"]


class Sdist(sdist):
    """Put the library's sources (src/, include/) and version into the sdist as libzeus/."""

    def make_release_tree(self, base_dir, files):
        super().make_release_tree(base_dir, files)
        # From the repository (this folder's parent), or from libzeus/ for an sdist of an sdist.
        root = BUNDLED if _is_source_tree(BUNDLED) else PARENT
        if not _is_source_tree(root):
            sys.exit(f"zeusc: no C sources for the sdist in {PARENT} (src/, include/)")
        dest = os.path.join(base_dir, "libzeus")
        ignore = shutil.ignore_patterns("*.o", "*.so", "*.a", "__pycache__")
        for sub in ("src", "include"):
            shutil.copytree(os.path.join(root, sub), os.path.join(dest, sub), ignore=ignore)
        with open(os.path.join(dest, "VERSION"), "w", encoding="utf-8") as f:
            f.write(".".join(zeus_version(root)) + "\n")


extension = Extension(
    "zeusc._zeusc",
    sources=sorted(glob.glob(os.path.join("csrc", "*.c"))),
    depends=[os.path.join("csrc", "zeusc.h")],
    extra_compile_args=["-std=c11", "-Wall", "-Wextra"],
)

setup(ext_modules=[extension], cmdclass={"build_ext": BuildExt, "sdist": Sdist})

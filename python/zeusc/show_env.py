"""python -m zeusc.show_env: what zeusc and the Zeus-C library see, as Zeus's show_env.

Sections: package availability and versions, device availability (GPUs, with the framework
index each physical GPU gets), CPU availability (RAPL packages and DRAM), and the library's
backends with the reason any of them did not open. Frameworks are looked up without being
imported unless present.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import platform
import shutil
import sys

import zeusc
from zeusc import _zeusc


def _line() -> str:
    return "-" * shutil.get_terminal_size((80, 24)).columns


def _framework(name: str, label: str, cuda_check) -> str:
    if importlib.util.find_spec(name) is None:
        return f"{label}: not installed"
    try:
        mod = importlib.import_module(name)
    except Exception as e:  # a broken install should not break the report
        return f"{label}: installed but failed to import ({e})"
    version = getattr(mod, "__version__", "?")
    try:
        gpu = cuda_check(mod)
    except Exception:
        gpu = False
    return f"{label}: {version} ({'with' if gpu else 'without'} GPU support)"


def _torch_cuda(torch) -> bool:
    return bool(torch.cuda.is_available())


def _jax_gpu(jax) -> bool:
    return any(d.platform == "gpu" for d in jax.devices())


def _cupy_gpu(cupy) -> bool:
    return cupy.cuda.runtime.getDeviceCount() > 0


def _soc_lines() -> list[str]:
    """Zeus's SoC section: the Jetson and its metrics, or none (Apple Silicon: not in
    this build, said plainly)."""
    from zeusc.device.soc import Jetson, ZeusSoCInitError, get_soc

    lines = []
    try:
        soc = get_soc()
    except ZeusSoCInitError:
        soc = None
    if isinstance(soc, Jetson):
        lines.append("NVIDIA Jetson SoC available.")
        lines.append(f"Available metrics: {', '.join(sorted(soc.get_available_metrics()))}")
    else:
        lines.append("No SoC available.")
    if platform.system() == "Darwin" and platform.machine() in ("arm64", "aarch64"):
        lines.append("Apple Silicon SoC energy is not supported by this build.")
    elif platform.system() == "Windows":
        lines.append("Windows is not supported by this build.")
    return lines


def report() -> str:
    """The report as text."""
    out: list[str] = []
    info = _zeusc.devices_info()

    out.append("## Package availability and versions")
    out.append(f"Python: {platform.python_version()} ({sys.executable})")
    out.append(f"zeusc: {zeusc.__version__} (libzeus {zeusc.library_version()}, headers {_zeusc.HEADER_VERSION})")
    out.append(_framework("torch", "PyTorch", _torch_cuda))
    out.append(_framework("jax", "JAX", _jax_gpu))
    out.append(_framework("cupy", "CuPy", _cupy_gpu))
    out.append(_line())

    out.append("## Device availability")
    for var in ("CUDA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES"):
        out.append(f"{var}={os.environ.get(var, '[NOT SET]')}")
    if os.environ.get("ZEUS_NVML_LIBRARY"):
        out.append(f"ZEUS_NVML_LIBRARY={os.environ['ZEUS_NVML_LIBRARY']} (simulated or overridden NVML)")
    if os.environ.get("ZEUS_AMDSMI_LIBRARY"):
        out.append(f"ZEUS_AMDSMI_LIBRARY={os.environ['ZEUS_AMDSMI_LIBRARY']} (simulated or overridden AMD SMI)")
    if not info["gpus"]:
        out.append("No GPUs available.")
    for g in info["gpus"]:
        vendor = {"nvml": " [NVIDIA, nvml]", "amdsmi": " [AMD, amdsmi]"}.get(g.get("backend", ""), "")
        out.append(f"GPU {g['physical_index']} (Zeus index {g['index']}): {g['name']}{vendor}")
    out.append(_line())

    out.append("## CPU availability")
    if not info["cpus"]:
        out.append("No CPUs available.")
    for c in info["cpus"]:
        dram = "available" if c["has_dram"] else "unavailable"
        out.append(f"CPU {c['index']}: {c['name']} ({c['path']}), DRAM {dram}")
    out.append(_line())

    out.append("## SoC availability")
    out.extend(_soc_lines())
    out.append(_line())

    out.append("## Zeus-C backends")
    for b in info["backends"]:
        if b["status"] == 0:
            out.append(f"{b['name']}: {b['device_count']} {b['kind'].upper()}(s) ({b['detail']})")
        else:
            out.append(f"{b['name']}: not available: {b['detail'] or b['status_name']}")
    out.append(_line())
    return "\n".join(out)


#: Zeus's section separator (zeus.show_env.SECTION_SEPARATOR).
SECTION_SEPARATOR = "=" * 80 + "\n"


def show_env() -> None:
    """Print what the library sees (Zeus's zeus.show_env.show_env)."""
    print(report())


def main() -> int:
    show_env()
    return 0


if __name__ == "__main__":
    sys.exit(main())

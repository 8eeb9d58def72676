"""``python -m zeusc.monitor energy|power``: Zeus's monitor CLI over Zeus-C.

energy: one window from start to Ctrl+C, then its Measurement. power: the GPUs' power every
update period, then the time and energy on Ctrl+C. Same arguments as ``python -m
zeus.monitor``; plain print instead of rich (not a dependency here).
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime

from zeusc.monitor import PowerMonitor, ZeusMonitor


def energy(gpu_indices: list[int] | None = None, duration: float | None = None) -> None:
    """Measure the GPUs' time and energy until Ctrl+C (or `duration` seconds)."""
    monitor = ZeusMonitor(gpu_indices, sync_execution_with=lambda gpus: None)
    monitor.begin_window("zeus.monitor.energy")
    try:
        time.sleep(duration if duration is not None else 365 * 24 * 60 * 60)
    except KeyboardInterrupt:
        pass
    print(monitor.end_window("zeus.monitor.energy", wait_final=True), flush=True)


def power(
    gpu_indices: list[int] | None = None,
    update_period: float = 1.0,
    power_domain: str = "device_instant",
    duration: float | None = None,
) -> None:
    """Print the GPUs' power every update period; time and energy on Ctrl+C."""
    monitor = PowerMonitor(gpu_indices=gpu_indices, update_period=update_period)
    start_time = time.time()
    deadline = None if duration is None else time.monotonic() + duration

    def named(values: dict[int, float]) -> dict[str, float]:
        return {f"GPU{k}": v for k, v in values.items()}

    try:
        while deadline is None or time.monotonic() < deadline:
            time.sleep(monitor.update_period)
            p = monitor.get_power(power_domain=power_domain)
            if p is not None:
                print(datetime.now(), named(p), flush=True)
    except KeyboardInterrupt:
        pass
    end_time = time.time()
    print("\nTotal time (s):", end_time - start_time)
    e = monitor.get_energy(start_time, end_time, power_domain=power_domain)
    if e is not None:
        print("Total energy (J):", named(e), flush=True)
    monitor.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m zeusc.monitor", description="Zeus Monitor CLI (Zeus-C)")
    sub = parser.add_subparsers(dest="subcommand", required=True)
    e = sub.add_parser("energy", help="Measure the time and energy of the GPUs until Ctrl+C.")
    p = sub.add_parser("power", help="Print the GPUs' power; time and energy on Ctrl+C.")
    for sp in (e, p):
        sp.add_argument("--gpu-indices", nargs="+", type=int, help="GPUs to monitor (default: all).")
        sp.add_argument("--duration", type=float, help="(Zeus-C) stop after this many seconds.")
    p.add_argument("--update-period", type=float, default=1.0, help="Seconds between readings.")
    p.add_argument(
        "--power-domain",
        choices=["device_instant", "device_average", "memory_average"],
        default="device_instant",
    )
    args = parser.parse_args(argv)
    if args.subcommand == "energy":
        energy(args.gpu_indices, args.duration)
    else:
        power(args.gpu_indices, args.update_period, args.power_domain, args.duration)


if __name__ == "__main__":
    main()

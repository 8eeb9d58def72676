"""Measurement: the result of a window, Zeus's dataclass with the same fields.

Pure Python on purpose (the C extension imports it at load time and instantiates it), so it
pickles, compares and prints like Zeus's. The fields after ``soc_energy`` are Zeus-C's
additions; they have defaults and take no part in equality, so code that builds or compares
Zeus Measurements keeps working.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property


@dataclass
class Measurement:
    """Time and energy of one measurement window.

    Attributes:
        time: Window length in seconds (CLOCK_MONOTONIC inside the library).
        gpu_energy: Joules per GPU, keyed by framework GPU index (NaN: the GPU failed).
        cpu_energy: Joules per CPU package, or None when no CPU is measured.
        dram_energy: Joules per package with a DRAM zone, or None when there is none.
        soc_energy: Zeus's JetsonMeasurement (cpu_energy_mj, gpu_energy_mj,
            total_energy_mj; None for a rail the board lacks, NaN for one that failed) where
            the library finds an NVIDIA Jetson, else None.
        start_time: Unix time the window began (the CSV log's start_time).
        provisional: True when the GPU values are the sampler's estimate, not yet final
            (sampled mode; see ZeusMonitor.get_final and end_window(wait_final=True)).
        window_id: The library's id of the window, for ZeusMonitor.get_final; None when
            cancelled.
        gpu_flags: zeusc.ENERGY_* bits per GPU: how each value was obtained.
    """

    time: float
    gpu_energy: dict[int, float]
    cpu_energy: dict[int, float] | None = None
    dram_energy: dict[int, float] | None = None
    soc_energy: object | None = None
    start_time: float | None = field(default=None, compare=False)
    provisional: bool = field(default=False, compare=False)
    window_id: int | None = field(default=None, compare=False, repr=False)
    gpu_flags: dict[int, int] | None = field(default=None, compare=False, repr=False)

    @cached_property
    def total_energy(self) -> float:
        """Total energy of the GPUs in joules (GPUs only, as in Zeus)."""
        return sum(self.gpu_energy.values())


@dataclass
class MeasurementState:
    """An open window, as Zeus's ZeusMonitor.measurement_states holds it.

    zeusc's windows live in the C library, which reads energies in the background, so only
    ``time`` (the Unix time the window began) is filled; the energy fields are empty dicts
    (None for CPUs), not the counter readings Zeus stores at begin.
    """

    time: float
    gpu_energy: dict[int, float] = field(default_factory=dict)
    cpu_energy: dict[int, float] | None = None
    dram_energy: dict[int, float] | None = None

    @cached_property
    def total_energy(self) -> float:
        """Sum of gpu_energy (0 here: zeusc keeps no begin readings)."""
        return sum(self.gpu_energy.values())

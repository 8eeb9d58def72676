"""Testing helpers (Zeus's zeus.utils.testing): ReplayZeusMonitor.

ReplayZeusMonitor stands in for ZeusMonitor in tests and replays the windows of a CSV log
written by ZeusMonitor(log_file=...) (zeusc's or Zeus's: the format is the same,
src/monitor/csv_log.c): each end_window returns the next row as a Measurement, without
touching any device. Rows are read with the csv module, so window names that zeusc quoted
(a comma or a quote in the name) come back intact; zeusc's optional cpu<i>_energy and
dram<i>_energy columns fill cpu_energy and dram_energy, and its optional soc_cpu_energy,
soc_gpu_energy and soc_total_energy columns (log_soc_columns, joules) fill soc_energy as
Zeus's JetsonMeasurement (mJ; "nan" becomes None, as a rail the board lacks is in Zeus).
"""

from __future__ import annotations

import csv
import logging
import math
import re
from pathlib import Path

from zeusc._types import Measurement
from zeusc.monitor import ZeusMonitor
from zeusc.utils.framework import sync_execution as sync_execution_fn

logger = logging.getLogger(__name__)

__all__ = ["ReplayZeusMonitor"]

_COLUMN = re.compile(r"^(gpu|cpu|dram)(\d+)_energy$")
_SOC_COLUMN = re.compile(r"^soc_(cpu|gpu|total)_energy$")


def _column(header: str):
    """("gpu", 0) for gpu0_energy, ("soc", "cpu") for soc_cpu_energy; None for any other."""
    if m := _COLUMN.match(header):
        return m.group(1), int(m.group(2))
    if m := _SOC_COLUMN.match(header):
        return "soc", m.group(1)
    return None


def _soc_measurement(values: dict[str, float]):
    """The SoC columns of a row as a JetsonMeasurement in mJ; None without SoC columns."""
    if not values:
        return None
    from zeusc.device.soc.jetson import JetsonMeasurement  # noqa: PLC0415

    def mj(rail: str) -> float | None:
        j = values.get(rail, math.nan)
        return None if math.isnan(j) else j * 1e3

    return JetsonMeasurement(mj("cpu"), mj("gpu"), mj("total"))


class ReplayZeusMonitor(ZeusMonitor):
    """A ZeusMonitor that replays windows recorded in a log file (Zeus's class).

    Rows must be in the order of the end_window calls (the order ZeusMonitor writes them).
    A duplicate begin_window or an end_window of a window not begun raises RuntimeError,
    and so does a window name that does not match the next row (match_window_name=True) or
    an exhausted log, as in Zeus. No device is opened.
    """

    # Instance attributes here shadow the C monitor's read-only ones.
    gpu_indices: list[int] = []
    cpu_indices: list[int] = []
    approx_instant_energy = False
    log_file = None

    def __init__(
        self,
        gpu_indices: list[int] | None = None,
        approx_instant_energy: bool = False,
        log_file: str | Path | None = None,
        ignore_sync_execution: bool = False,
        match_window_name: bool = True,
        *,
        sync_execution_with: str = "torch",
    ) -> None:
        if log_file is None:
            raise ValueError("`log_file` cannot be `None` for `ReplayZeusMonitor`.")
        self.approx_instant_energy = approx_instant_energy
        self.log_file = open(log_file, newline="")  # noqa: SIM115 (read row by row)
        self.ignore_sync_execution = ignore_sync_execution
        self.match_window_name = match_window_name
        self._sync_with = sync_execution_with
        self._reader = csv.reader(self.log_file)
        header = next(self._reader, [])
        self._columns = [_column(h) for h in header[3:]]
        logged_gpus = [i for c in self._columns if c is not None and c[0] == "gpu" for i in [c[1]]]
        self.nvml_gpu_indices = self.gpu_indices = list(gpu_indices) if gpu_indices is not None else logged_gpus
        self.cpu_indices = [c[1] for c in self._columns if c is not None and c[0] == "cpu"]
        self.ongoing_windows: list[str] = []
        logger.info("Replaying from '%s' with GPU indices %s", log_file, self.gpu_indices)

    def __del__(self) -> None:
        f = self.__dict__.get("log_file")
        if f is not None:
            f.close()

    def __repr__(self) -> str:
        return f"<zeusc.utils.testing.ReplayZeusMonitor gpus={self.gpu_indices}>"

    @property
    def measurement_states(self):
        """The open windows (names only: a replay has no begin times)."""
        from zeusc._types import MeasurementState  # noqa: PLC0415

        return {key: MeasurementState(time=math.nan) for key in self.ongoing_windows}

    def _sync(self, sync_execution: bool) -> None:
        if not self.ignore_sync_execution and sync_execution and self.gpu_indices:
            sync_execution_fn(self.gpu_indices, sync_with=self._sync_with)

    def begin_window(self, key: str, sync_execution: bool = True, restart: bool = False) -> None:
        """Note that window `key` is open."""
        if key in self.ongoing_windows:
            if not restart:
                raise RuntimeError(f"Window {key} is already ongoing.")
            self.ongoing_windows.remove(key)
        self.ongoing_windows.append(key)
        self._sync(sync_execution)

    def end_window(self, key: str, sync_execution: bool = True, cancel: bool = False) -> Measurement:
        """The next logged window, as a Measurement (all zeros when cancelled; no row read)."""
        try:
            self.ongoing_windows.remove(key)
        except ValueError:
            raise RuntimeError(f"Window {key} is not ongoing.") from None
        self._sync(sync_execution)
        if cancel:
            return Measurement(time=0.0, gpu_energy={gpu: 0.0 for gpu in self.gpu_indices})
        row = next(self._reader, None)
        if row is None:
            raise RuntimeError("No more lines in the log file.")
        if len(row) < 3:
            raise RuntimeError(f"Line has unexpected number of energy measurements: {row}")
        _, window_name, elapsed, *nums = row
        if self.match_window_name and window_name != key:
            raise RuntimeError(f"Was expecting {window_name}, not {key}.")
        values = [float(v) for v, c in zip(nums, self._columns) if c is not None]
        columns = [c for c in self._columns if c is not None]
        if len(values) != len(columns) or sum(c[0] == "gpu" for c in columns) != len(self.gpu_indices):
            raise RuntimeError(f"Line has unexpected number of energy measurements: {','.join(row)}")
        gpu = [v for v, c in zip(values, columns) if c[0] == "gpu"]
        cpu = {c[1]: v for v, c in zip(values, columns) if c[0] == "cpu"}
        dram = {c[1]: v for v, c in zip(values, columns) if c[0] == "dram" and not math.isnan(v)}
        soc = {c[1]: v for v, c in zip(values, columns) if c[0] == "soc"}
        return Measurement(
            time=float(elapsed),
            start_time=float(row[0]) if row[0] else None,
            gpu_energy=dict(zip(self.gpu_indices, gpu)),
            cpu_energy=cpu or None,
            dram_energy=dram or None,
            soc_energy=_soc_measurement(soc),
        )

    def reset_windows(self) -> None:
        """Forget the open windows."""
        self.ongoing_windows.clear()

    def close(self) -> None:
        """Close the log file."""
        if self.log_file is not None:
            self.log_file.close()

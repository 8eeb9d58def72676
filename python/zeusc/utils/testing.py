"""zeus.utils.testing.ReplayZeusMonitor: replay the windows a ZeusMonitor logged to CSV.

Tests and simulators use it to fast-forward training: each end_window returns the next row
of the log instead of measuring. The log is Zeus's CSV format, which zeusc's ZeusMonitor
writes (`start_time,window_name,elapsed_time,gpu<i>_energy,...`).

Departure from Zeus: rows are read with the csv module, so a window name that holds a comma
(which Zeus-C's log quotes) replays correctly; Zeus splits the raw line at every comma.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path

from zeusc._types import Measurement
from zeusc.utils.framework import sync_execution as _sync_execution

_logger = logging.getLogger("ReplayZeusMonitor")


class ReplayZeusMonitor:
    """A ZeusMonitor stand-in that replays a log, with Zeus's arguments and errors."""

    def __init__(
        self,
        gpu_indices: list[int] | None = None,
        approx_instant_energy: bool = False,
        log_file: str | Path | None = None,
        ignore_sync_execution: bool = False,
        match_window_name: bool = True,
    ) -> None:
        """Open `log_file` (required) and take the GPU indices from its header unless given."""
        if log_file is None:
            raise ValueError("`log_file` cannot be `None` for `ReplayZeusMonitor`.")
        self.approx_instant_energy = approx_instant_energy
        self.log_file = open(log_file, newline="")  # noqa: SIM115 (read row by row)
        self._rows = csv.reader(self.log_file)
        self.ignore_sync_execution = ignore_sync_execution
        self.match_window_name = match_window_name
        header = next(self._rows, [])
        if gpu_indices is None:
            gpu_indices = [int(c.split("_")[0][3:]) for c in header[3:] if c.startswith("gpu")]
        self.nvml_gpu_indices = self.gpu_indices = list(gpu_indices)
        _logger.info("Replaying from '%s' with GPU indices %s", log_file, self.gpu_indices)
        self.ongoing_windows: list[str] = []

    def _sync(self, sync_execution: bool) -> None:
        if not self.ignore_sync_execution and sync_execution:
            _sync_execution(self.gpu_indices)

    def begin_window(self, key: str, sync_execution: bool = True) -> None:
        """Open window `key`; RuntimeError if it is already open."""
        if key in self.ongoing_windows:
            raise RuntimeError(f"Window {key} is already ongoing.")
        self.ongoing_windows.append(key)
        self._sync(sync_execution)

    def end_window(self, key: str, sync_execution: bool = True, cancel: bool = False) -> Measurement:
        """Close window `key` and return the next logged row as its Measurement."""
        try:
            self.ongoing_windows.remove(key)
        except ValueError:
            raise RuntimeError(f"Window {key} is not ongoing.") from None
        self._sync(sync_execution)
        if cancel:
            return Measurement(time=0.0, gpu_energy={i: 0.0 for i in self.gpu_indices})
        row = next(self._rows, None)
        if row is None:
            raise RuntimeError("No more lines in the log file.")
        _, window_name, *nums = row
        if self.match_window_name and window_name != key:
            raise RuntimeError(f"Was expecting {window_name}, not {key}.")
        if len(nums) != len(self.gpu_indices) + 1:
            raise RuntimeError(f"Line has unexpected number of energy measurements: {row}")
        time_s, *energies = map(float, nums)
        return Measurement(time=time_s, gpu_energy=dict(zip(self.gpu_indices, energies)))

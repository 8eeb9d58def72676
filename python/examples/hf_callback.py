"""Measure a Hugging Face Trainer's energy per step and per epoch with zeusc.

Usage (with transformers and torch installed)::

    from transformers import Trainer
    from hf_callback import ZeusEnergyCallback

    trainer = Trainer(model=..., args=..., train_dataset=...,
                      callbacks=[ZeusEnergyCallback(log_file="energy.csv")])
    trainer.train()

Each step is a window "step" and each epoch a window "epoch-<n>" on one ZeusMonitor over the
GPUs this process uses; both are logged to `log_file` in Zeus's CSV format, and the epoch
totals go to the Trainer's logs as `energy_j` / `energy_time_s`. Step windows end without
waiting for final values (sampled mode: an estimate, ~1 us), so measuring every step costs
nothing the Trainer would notice; the log receives the final values.

The module imports without transformers (the callback then refuses to be built), so it can
be read, tested and documented anywhere.
"""

from __future__ import annotations

try:
    from transformers import TrainerCallback
except ImportError:  # transformers is optional: keep the module importable without it
    TrainerCallback = object

from zeusc import ZeusMonitor


class ZeusEnergyCallback(TrainerCallback):
    """A transformers.TrainerCallback that measures steps and epochs with zeusc.ZeusMonitor.

    Args:
        gpu_indices: GPUs to measure; None for every visible GPU.
        log_file: CSV log in Zeus's format, or None.
        measure_steps: Also open a window around every optimizer step.
        sync_execution_with: Passed to ZeusMonitor ("torch" for the Trainer).
    """

    def __init__(self, gpu_indices=None, log_file=None, measure_steps=True, sync_execution_with="torch"):
        if TrainerCallback is object:
            raise RuntimeError("ZeusEnergyCallback needs transformers (pip install transformers)")
        self.monitor = None
        self.gpu_indices = gpu_indices
        self.log_file = log_file
        self.measure_steps = measure_steps
        self.sync_execution_with = sync_execution_with
        self.epoch_energy: list[float] = []
        self._epoch_key = None

    # Only the main process measures: with DDP every rank would otherwise count every GPU.
    def on_train_begin(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            self.monitor = ZeusMonitor(
                gpu_indices=self.gpu_indices, log_file=self.log_file, sync_execution_with=self.sync_execution_with
            )

    def on_epoch_begin(self, args, state, control, **kwargs):
        if self.monitor is not None:
            self._epoch_key = f"epoch-{int(state.epoch or 0)}"
            self.monitor.begin_window(self._epoch_key, restart=True)

    def on_step_begin(self, args, state, control, **kwargs):
        if self.monitor is not None and self.measure_steps:
            # No sync here: the previous step's end already waited for the GPU.
            self.monitor.begin_window("step", sync_execution=False, restart=True)

    def on_step_end(self, args, state, control, **kwargs):
        if self.monitor is not None and self.measure_steps:
            self.monitor.end_window("step")

    def on_epoch_end(self, args, state, control, **kwargs):
        if self.monitor is None or self._epoch_key is None:
            return
        m = self.monitor.end_window(self._epoch_key, wait_final=True)
        self._epoch_key = None
        self.epoch_energy.append(m.total_energy)
        state.log_history.append({"epoch": state.epoch, "energy_j": m.total_energy, "energy_time_s": m.time})

    def on_train_end(self, args, state, control, **kwargs):
        if self.monitor is not None:
            self.monitor.close()  # finishes the last windows: their rows reach the log
            self.monitor = None

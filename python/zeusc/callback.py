"""Zeus's callback interface (zeus.callback): hooks a training loop calls, and a set of them.

Zeus's optimizers are callbacks; user code subclasses Callback and groups several in a
CallbackSet, so the names and methods are Zeus's exactly.
"""

from __future__ import annotations


class Callback:
    """Base class for callbacks: every hook does nothing until overridden."""

    def on_train_begin(self) -> None:
        """Called at the beginning of training."""

    def on_train_end(self) -> None:
        """Called at the end of training."""

    def on_epoch_begin(self) -> None:
        """Called at the beginning of each epoch."""

    def on_epoch_end(self) -> None:
        """Called at the end of each epoch."""

    def on_step_begin(self) -> None:
        """Called at the beginning of each step."""

    def on_step_end(self) -> None:
        """Called at the end of each step."""

    def on_evaluate(self, metric: float) -> None:
        """Called after evaluating the model."""


class CallbackSet(Callback):
    """Callbacks called in order, as one."""

    def __init__(self, callbacks: list[Callback]) -> None:
        """Initialize the callback set."""
        self.callbacks = callbacks

    def _each(self, hook: str, *args: object) -> None:
        for callback in self.callbacks:
            getattr(callback, hook)(*args)

    def on_train_begin(self) -> None:
        """Called at the beginning of training."""
        self._each("on_train_begin")

    def on_train_end(self) -> None:
        """Called at the end of training."""
        self._each("on_train_end")

    def on_epoch_begin(self) -> None:
        """Called at the beginning of each epoch."""
        self._each("on_epoch_begin")

    def on_epoch_end(self) -> None:
        """Called at the end of each epoch."""
        self._each("on_epoch_end")

    def on_step_begin(self) -> None:
        """Called at the beginning of each step."""
        self._each("on_step_begin")

    def on_step_end(self) -> None:
        """Called at the end of each step."""
        self._each("on_step_end")

    def on_evaluate(self, metric: float) -> None:
        """Called after evaluating the model."""
        self._each("on_evaluate", metric)

"""Shim (not PyTorch): set_device has nothing to select on the simulated GPUs."""


def set_device(device):
    """Nothing to do."""


def synchronize(device=None):
    """Nothing is queued."""

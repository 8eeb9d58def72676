"""Shim (not PyTorch): what Zeus's PipelineFrequencyOptimizer uses of torch, for a test whose
ranks are separate processes without PyTorch: torch.cuda.set_device (nothing to do) and
torch.distributed (below)."""

from torch import cuda, distributed  # noqa: F401

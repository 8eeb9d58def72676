"""Zeus's learning-rate scaling rules (zeus.utils.lr_scaler), used beside the batch size
optimizer: when it picks a new batch size, scale the learning rate with it.

    from zeusc.utils.lr_scaler import LinearScaler
    lr = LinearScaler(bs=256, lr=0.1).compute_lr(batch_size)   # 0.1 * batch_size / 256
"""

import math
from dataclasses import dataclass

__all__ = ["SquareRootScaler", "LinearScaler"]


@dataclass
class SquareRootScaler:
    """Square root scaling.

    Args:
        bs: The initial batch size
        lr: The initial learning rate
    """

    bs: int
    lr: float

    def compute_lr(self, new_bs: int) -> float:
        """Compute the scaled learning rate given the new batch size."""
        return self.lr * math.sqrt(new_bs / self.bs)


@dataclass
class LinearScaler:
    """Linear scaling.

    Args:
        bs: The initial batch size
        lr: The initial learning rate
    """

    bs: int
    lr: float

    def compute_lr(self, new_bs: int) -> float:
        """Compute the scaled learning rate given the new batch size."""
        return self.lr * new_bs / self.bs

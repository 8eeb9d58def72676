"""Zeus's batch size optimizer client exceptions (zeus.optimizer.batch_size.exceptions),
with Zeus's names (``ZeusBSORuntimError`` keeps Zeus's spelling; ``ZeusBSORuntimeError`` is
the same class) and messages. Each derives from zeusc's ZeusBaseError, as in Zeus.
"""

from zeusc.exception import ZeusBaseError

__all__ = [
    "ZeusBSORuntimError",
    "ZeusBSORuntimeError",
    "ZeusBSOTrainFailError",
    "ZeusBSOConfigError",
    "ZeusBSOOperationOrderError",
    "ZeusBSOBadOperationError",
]


class ZeusBSORuntimError(ZeusBaseError):
    """Bso server failed to process the request correctly."""


ZeusBSORuntimeError = ZeusBSORuntimError


class ZeusBSOTrainFailError(ZeusBaseError):
    """Training failed for the chosen batch_size."""


class ZeusBSOConfigError(ZeusBaseError):
    """Configuration of training doesn't meet the requirements. ex) heterogeneous GPU."""


class ZeusBSOOperationOrderError(ZeusBaseError):
    """Order of calling methods of BatchSizeOptimizer is wrong."""


class ZeusBSOBadOperationError(ZeusBaseError):
    """The usage of operations is wrong."""

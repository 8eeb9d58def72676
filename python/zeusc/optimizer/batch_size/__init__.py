"""Zeus's batch size optimizer client (zeus.optimizer.batch_size) over libzeus's.

    from zeusc.optimizer.batch_size import BatchSizeOptimizer, JobSpec   # was: from zeus...
    bso = BatchSizeOptimizer(monitor, "http://bso-server:8000", JobSpec(...))
    batch_size = bso.get_batch_size()
    bso.on_train_begin()
    for epoch in range(max_epochs):
        train(batch_size)
        bso.on_evaluate(validate())     # raises ZeusBSOTrainFailError when the run failed

The server is `zeus bso-server` or Zeus's own; the protocol is Zeus's.
"""

from zeusc.optimizer.batch_size.client import BatchSizeOptimizer
from zeusc.optimizer.batch_size.common import JobSpec

__all__ = ["BatchSizeOptimizer", "JobSpec"]

"""Zeus's optimizers (zeus.optimizer): the power limit optimizer and the batch size
optimizer's client.

    from zeusc.optimizer.power_limit import GlobalPowerLimitOptimizer
    from zeusc.optimizer.batch_size import BatchSizeOptimizer, JobSpec
"""

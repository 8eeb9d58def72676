"""Zeus's optimizers (zeus.optimizer): the power limit optimizer, the batch size
optimizer's client and Perseus's (the pipeline frequency optimizer's) client.

    from zeusc.optimizer.power_limit import GlobalPowerLimitOptimizer
    from zeusc.optimizer.batch_size import BatchSizeOptimizer, JobSpec
    from zeusc.optimizer.pipeline_frequency import PipelineFrequencyOptimizer
"""

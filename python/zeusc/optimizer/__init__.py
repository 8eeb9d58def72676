"""Zeus's optimizers (zeus.optimizer): the power limit optimizer so far.

    from zeusc.optimizer.power_limit import GlobalPowerLimitOptimizer
"""

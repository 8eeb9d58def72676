"""zeusc.monitor.price: Zeus's zeus.monitor.price over Zeus-C (issue 14).

The providers (ElectricityPriceProvider, OpenEIClient, their errors) are in _rate.py; the
monitor and its measurement in _emission.py.
"""

from zeusc.monitor._emission import EnergyCostMeasurement, EnergyCostMonitor, Op  # noqa: F401

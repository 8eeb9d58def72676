"""zeusc.monitor.carbon: Zeus's zeus.monitor.carbon over Zeus-C (issue 14).

The providers (CarbonIntensityProvider, ElectrictyMapsClient, their errors) are in _rate.py;
the monitor and its measurement in _emission.py.
"""

from zeusc.monitor._emission import CarbonEmissionMeasurement, CarbonEmissionMonitor, Op  # noqa: F401

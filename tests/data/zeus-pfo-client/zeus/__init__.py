"""A minimal zeus package for test_zeus_pfo_client.py (not Zeus's own __init__, which imports
every subpackage): Zeus's pipeline frequency optimizer client, unchanged, over zeusc's devices."""

__version__ = "0.16.0"

"""Zeus's utilities (zeus.utils): framework helpers, ReplayZeusMonitor, the zeusd client."""

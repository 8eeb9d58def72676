"""Zeus's zeus.utils names that zeusc provides: framework sync and the replay monitor."""

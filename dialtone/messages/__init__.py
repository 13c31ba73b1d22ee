"""Messages callers leave for the staff: stored, listed and marked handled."""

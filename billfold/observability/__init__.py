"""Watching a running Billfold: request logs and metrics."""

"""Developer tools that talk to a running Billfold over its API: listen, trigger, logs."""

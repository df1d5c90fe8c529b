"""Radar: rules, value lists, reviews and early fraud warnings."""

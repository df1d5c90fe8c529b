"""Billfold: a self-hosted payments platform that speaks Stripe's API."""

__version__ = "0.1.0"

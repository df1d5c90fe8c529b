"""Disputes: chargebacks and inquiries, and the evidence that answers them."""

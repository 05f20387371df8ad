"""Observability: per-request state, usage and cost, metrics, logs, traces."""

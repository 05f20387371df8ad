"""Routing: routes (alias -> ordered deployments), strategies, retries, health."""

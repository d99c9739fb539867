"""Probing and uptime arithmetic, free of Flask so it is easy to test and reuse."""

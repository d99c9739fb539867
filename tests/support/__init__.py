"""Shared test support: service discovery and the skip-or-fail rule."""

"""Blueprints: dashboard, monitors, auth, health, api (jobs and cluster come with their issues)."""

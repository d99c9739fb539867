"""Alerting: channels (Apprise URLs, encrypted), thresholds, the outbox and its dispatchers.

One-way imports: models <- alerts <- jobs and web. Nothing here imports Flask views.
"""

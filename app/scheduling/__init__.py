"""In-process timers (APScheduler) and the leader gate that lets one process run them."""

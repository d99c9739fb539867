"""Jobs: one registry (registry.py), one entrypoint (cli.py, runner.py), Kubernetes outputs (export.py)."""

"""One ApiClient per process, configured in-cluster or from KUBECONFIG (app/runtime.py)."""
from __future__ import annotations

import threading
from functools import lru_cache

from kubernetes import client

from app.runtime import load_kube_config

_lock = threading.Lock()


@lru_cache(maxsize=1)
def api_client() -> client.ApiClient:
    with _lock:
        configuration = client.Configuration()
        load_kube_config(configuration)
        return client.ApiClient(configuration)

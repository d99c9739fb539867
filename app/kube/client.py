"""One ApiClient per process, configured in-cluster or from KUBECONFIG."""
from __future__ import annotations

import os
import threading
from functools import lru_cache
from pathlib import Path

from kubernetes import client, config

SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
_lock = threading.Lock()


@lru_cache(maxsize=1)
def api_client() -> client.ApiClient:
    with _lock:
        configuration = client.Configuration()
        if os.environ.get("KUBERNETES_SERVICE_HOST"):
            config.load_incluster_config(client_configuration=configuration)
        else:
            config.load_kube_config(client_configuration=configuration)
        return client.ApiClient(configuration)


def own_namespace(default: str = "default") -> str:
    if SERVICE_ACCOUNT_NAMESPACE.exists():
        return SERVICE_ACCOUNT_NAMESPACE.read_text().strip()
    return default

"""The kind cluster hack/e2e.sh made, as the e2e tests see it: kubectl, helm, SQL in the
release's MariaDB pod, and HTTP through the ingress controller.

Everything goes through the real command-line tools a person would use (kubectl, helm) and
the real ingress; nothing here talks to a pod but through the API server or the ingress.
"""
from __future__ import annotations

import base64
import json
import os
import shlex
import subprocess
from dataclasses import dataclass
from functools import cached_property

import requests


class CommandFailed(AssertionError):
    pass


@dataclass(frozen=True)
class Cluster:
    kubeconfig: str
    namespace: str
    release: str
    url: str          # the ingress on loopback, e.g. http://127.0.0.1:8080
    host: str         # the Host the chart's Ingress routes, e.g. vigil.localhost
    tag: str          # the Vigil image tag installed
    kubectl_path: str
    helm_path: str
    values: tuple[str, ...]  # the values files hack/e2e.sh installed with
    figures: str | None = None  # a JSON file where tests record what they measured (bench e2e)

    @classmethod
    def from_environment(cls) -> Cluster | None:
        env = os.environ
        if not env.get("VIGIL_E2E_KUBECONFIG"):
            return None
        return cls(kubeconfig=env["VIGIL_E2E_KUBECONFIG"], namespace=env["VIGIL_E2E_NAMESPACE"],
                   release=env["VIGIL_E2E_RELEASE"], url=env["VIGIL_E2E_URL"].rstrip("/"),
                   host=env["VIGIL_E2E_HOST"], tag=env["VIGIL_E2E_TAG"],
                   kubectl_path=env["VIGIL_E2E_KUBECTL"], helm_path=env["VIGIL_E2E_HELM"],
                   values=tuple(env.get("VIGIL_E2E_VALUES", "").split()),
                   figures=env.get("VIGIL_E2E_FIGURES") or None)

    def record(self, **figures) -> None:
        """Add measured figures to the run's JSON file (read by `python -m bench e2e`)."""
        print(" ".join(f"{name}={value}" for name, value in figures.items()))
        if not self.figures:
            return
        try:
            with open(self.figures) as f:
                known = json.load(f)
        except (OSError, ValueError):
            known = {}
        known.update(figures)
        with open(self.figures, "w") as f:
            json.dump(known, f, indent=2, sort_keys=True)

    # -- tools ---------------------------------------------------------------------------
    def run(self, *argv: str, input: str | None = None, timeout: float = 120, check: bool = True) -> str:
        done = subprocess.run(argv, input=input, capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "KUBECONFIG": self.kubeconfig})
        if check and done.returncode != 0:
            raise CommandFailed(f"{shlex.join(argv)} exited {done.returncode}:\n{done.stderr}{done.stdout}")
        return done.stdout

    def kubectl(self, *args: str, namespace: str | None = None, **kwargs) -> str:
        return self.run(self.kubectl_path, "-n", namespace or self.namespace, *args, **kwargs)

    def get(self, *args: str, namespace: str | None = None) -> dict:
        return json.loads(self.kubectl("get", *args, "-o", "json", namespace=namespace))

    def helm(self, *args: str, timeout: float = 900) -> str:
        return self.run(self.helm_path, "-n", self.namespace, *args, timeout=timeout)

    # -- the release -----------------------------------------------------------------------
    @property
    def fullname(self) -> str:
        return self.release if "vigil" in self.release else f"{self.release}-vigil"

    def selector(self, component: str) -> str:
        return f"app.kubernetes.io/instance={self.release},app.kubernetes.io/component={component}"

    def pods(self, component: str) -> list[dict]:
        return self.get("pods", "-l", self.selector(component))["items"]

    def secret_value(self, name: str, key: str) -> str:
        data = self.get("secret", name)["data"]
        return base64.b64decode(data[key]).decode()

    @cached_property
    def admin_password(self) -> str:
        """Read the way NOTES.txt tells a person to."""
        return self.secret_value(self.fullname, "VIGIL_ADMIN_PASSWORD")

    def sql(self, query: str) -> list[list[str]]:
        """Rows of `query`, run by the mariadb client inside the release's database pod."""
        from sqlalchemy.engine import make_url

        url = make_url(self.secret_value(self.fullname, "DATABASE_URL"))
        out = self.kubectl("exec", "-i", f"deploy/{self.fullname}-mysql", "--", "env",
                           f"MYSQL_PWD={url.password}", "mariadb", "--batch", "--skip-column-names",
                           f"-u{url.username}", url.database, input=query, timeout=60)
        return [line.split("\t") for line in out.splitlines() if line]

    # -- HTTP through the ingress --------------------------------------------------------------
    @property
    def browser_url(self) -> str:
        """The URL a browser on the host opens: the Ingress host on the mapped port."""
        port = self.url.rsplit(":", 1)[1]
        return f"http://{self.host}:{port}"

    def http(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {"Host": self.host, **kwargs.pop("headers", {})}
        return requests.request(method, self.url + path, headers=headers,
                                timeout=kwargs.pop("timeout", 10), allow_redirects=False, **kwargs)


"""A real Kubernetes control plane on loopback for tests, in the style of envtest.

Why: RBAC rules, optimistic concurrency, server-side validation and controllers are only
believable against a real kube-apiserver. This module starts real `etcd`,
`kube-apiserver` and (on demand) `kube-controller-manager` binaries from a
KUBEBUILDER_ASSETS directory (see hack/k8s-assets.sh). It has no pytest dependency;
testkit/controlplane_fixtures.py wraps it in fixtures.

Guarantees:
- Everything binds to 127.0.0.1 on free ports; all state (etcd data, certificates,
  kubeconfig, one log file per process) lives in one temp dir (`ControlPlane.dir`).
- Certificates come from a throwaway CA made here; the admin identity is a client
  certificate in group system:masters (`admin_client()`, `kubeconfig`).
- Authorization is RBAC, so `token_client()` (a real ServiceAccount token minted by the
  TokenRequest API) sees exactly what its Roles allow.
- Processes run in their own process groups and are terminated (SIGTERM, then SIGKILL
  after a timeout) by `stop()`, at interpreter exit (atexit), and on Linux also when
  the Python process dies hard (PR_SET_PDEATHSIG).
- A failed start raises ControlPlaneError naming the log file and quoting its tail.

Caveats:
- No kubelet, scheduler or network: Pods are stored, never run.
- The ServiceAccount admission plugin is enabled only while kube-controller-manager
  runs (it needs the token/serviceaccount controllers); `start_controller_manager()`
  therefore restarts the apiserver once (a few seconds).
- Without the controller manager, deleted namespaces stay Terminating (harmless).
- Free ports are probed then released, so another process could grab one in between;
  a start that fails that way is retried with new ports.
- PR_SET_PDEATHSIG is tied to the thread that started the process: start the control
  plane from a long-lived thread (pytest's main thread is).
"""
from __future__ import annotations

import atexit
import contextlib
import ctypes
import datetime as dt
import ipaddress
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import kubernetes.client
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from testkit import ROOT
from testkit.ports import free_port

REQUIRED_BINARIES = ("etcd", "kube-apiserver", "kubectl")
SERVICE_CIDR = "10.0.0.0/24"
DEFAULT_CONTROLLERS = (
    "cronjob-controller,job-controller,garbage-collector-controller,namespace-controller,"
    "serviceaccount-controller,serviceaccount-token-controller,root-ca-certificate-publisher-controller"
)


class ControlPlaneError(RuntimeError):
    """A control-plane process failed to start or become ready."""


def missing_binaries(assets: str | os.PathLike[str]) -> list[str]:
    """Names from REQUIRED_BINARIES that are not executable in `assets`."""
    return [b for b in REQUIRED_BINARIES if not os.access(Path(assets, b), os.X_OK)]


ASSETS_SCRIPT = ROOT / "hack" / "k8s-assets.sh"
BUILD_HINT = "build once (~15 min): export KUBEBUILDER_ASSETS=$(bash hack/k8s-assets.sh)"


def find_assets() -> str:
    """The binaries' directory: KUBEBUILDER_ASSETS, else hack/k8s-assets.sh's cache *only if
    already built* (`--check`; the long build is never started from here).

    Raises ControlPlaneError saying what is missing and how to build it."""
    env = os.environ.get("KUBEBUILDER_ASSETS", "")
    if env:
        missing = missing_binaries(env)
        if missing:
            raise ControlPlaneError(f"KUBEBUILDER_ASSETS={env} lacks {', '.join(missing)}")
        return env
    try:
        out = subprocess.run(["bash", str(ASSETS_SCRIPT), "--check"], capture_output=True,
                             text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise ControlPlaneError(f"Kubernetes test binaries: {e}; {BUILD_HINT}") from None
    if out.returncode != 0 or not out.stdout.strip():
        raise ControlPlaneError(f"Kubernetes test binaries not built; {BUILD_HINT}")
    return out.stdout.strip().splitlines()[-1]


def die_with_parent() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class Process:
    """One child process with its own process group and log file."""

    def __init__(self, name: str, argv: Sequence[str], log: Path) -> None:
        self.name, self.argv, self.log = name, list(argv), log
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "ab") as out:
            out.write(f"\n=== {dt.datetime.now().isoformat()} {' '.join(self.argv)}\n".encode())
            out.flush()
            self.popen = subprocess.Popen(
                self.argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509
            )

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        p, self.popen = self.popen, None
        if p is None or p.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(wait)
                return

    def tail(self, lines: int = 25) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def fail(self, what: str) -> ControlPlaneError:
        return ControlPlaneError(f"{self.name} {what}; log: {self.log}\n--- last lines ---\n{self.tail()}")


def _wait(proc: Process, ready: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            raise proc.fail("exited during startup")
        if ready():
            return
        time.sleep(0.1)
    raise proc.fail(f"not {what} after {timeout:.0f}s")


class _PKI:
    """Throwaway CA, serving cert, admin client cert and ServiceAccount signing key."""

    def __init__(self, d: Path) -> None:
        d.mkdir(parents=True, exist_ok=True)
        now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "vigil-test-ca")])
        self.ca = (
            x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
            .public_key(self.ca_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
            .sign(self.ca_key, hashes.SHA256())
        )
        self.ca_file = self._write(d / "ca.crt", self.ca)
        sans: list[x509.GeneralName] = [x509.DNSName(n) for n in ("localhost", "kubernetes", "kubernetes.default",
                                          "kubernetes.default.svc", "kubernetes.default.svc.cluster.local")]
        sans += [x509.IPAddress(ipaddress.ip_address(i)) for i in ("127.0.0.1", "10.0.0.1")]
        self.serving_cert, self.serving_key = self._leaf(d, "apiserver", "kube-apiserver", None, sans,
                                                         ExtendedKeyUsageOID.SERVER_AUTH, now)
        self.admin_cert, self.admin_key = self._leaf(d, "admin", "vigil-admin", "system:masters", [],
                                                     ExtendedKeyUsageOID.CLIENT_AUTH, now)
        sa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.sa_key = d / "sa.key"
        self.sa_key.write_bytes(sa.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                 serialization.NoEncryption()))
        self.sa_pub = d / "sa.pub"
        self.sa_pub.write_bytes(sa.public_key().public_bytes(serialization.Encoding.PEM,
                                                             serialization.PublicFormat.SubjectPublicKeyInfo))

    @staticmethod
    def _write(path: Path, cert: x509.Certificate) -> Path:
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return path

    def _leaf(self, d: Path, stem: str, cn: str, org: str | None, sans: list[x509.GeneralName],
              usage: x509.ObjectIdentifier, now: dt.datetime) -> tuple[Path, Path]:
        key = ec.generate_private_key(ec.SECP256R1())
        attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
        if org:
            attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
        b = (x509.CertificateBuilder().subject_name(x509.Name(attrs)).issuer_name(self.ca.subject)
             .public_key(key.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(now).not_valid_after(now + dt.timedelta(days=2))
             .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
             .add_extension(x509.ExtendedKeyUsage([usage]), critical=False))
        if sans:
            b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        key_path = d / f"{stem}.key"
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        return self._write(d / f"{stem}.crt", b.sign(self.ca_key, hashes.SHA256())), key_path


class ControlPlane:
    """etcd + kube-apiserver (+ kube-controller-manager on demand) in one temp dir."""

    def __init__(self, assets: str | os.PathLike[str], *, start_timeout: float = 60.0) -> None:
        self.assets = Path(assets)
        # On once the controller manager is wanted (it creates the ServiceAccounts the
        # admission plugin then requires).
        self._admit_service_accounts = False
        self.start_timeout = start_timeout
        self.dir = Path(tempfile.mkdtemp(prefix="vigil-k8s-"))
        self.etcd: Process | None = None
        self.apiserver: Process | None = None
        self.controller_manager: Process | None = None
        self._kcm_controllers = DEFAULT_CONTROLLERS
        self.etcd_url = ""
        self._closed = False
        self.api_port = 0
        self.url = ""
        self.kubeconfig = self.dir / "admin.kubeconfig"
        self._pki: _PKI | None = None
        atexit.register(self._at_exit)

    def start(self) -> ControlPlane:
        missing = missing_binaries(self.assets)
        if missing:
            raise ControlPlaneError(f"{self.assets} lacks {', '.join(missing)}")
        self._pki = _PKI(self.dir / "pki")
        for attempt in range(3):  # a probed port may be taken before we bind it
            try:
                self._start_etcd()
                self.api_port = free_port()
                self.url = f"https://127.0.0.1:{self.api_port}"
                self._write_kubeconfig()
                self.start_apiserver()
                return self
            except ControlPlaneError as e:
                self.stop(remove=False)
                if attempt == 2 or "address already in use" not in str(e):
                    raise
        return self

    def _start_etcd(self) -> None:
        client, peer = free_port(), free_port()
        data = self.dir / "etcd-data"
        shutil.rmtree(data, ignore_errors=True)
        self.etcd_url = f"http://127.0.0.1:{client}"
        self.etcd = Process("etcd", [
            str(self.assets / "etcd"), "--name=vigil", f"--data-dir={data}",
            f"--listen-client-urls={self.etcd_url}", f"--advertise-client-urls={self.etcd_url}",
            f"--listen-peer-urls=http://127.0.0.1:{peer}",
            f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
            f"--initial-cluster=vigil=http://127.0.0.1:{peer}",
            "--unsafe-no-fsync", "--log-level=warn",
        ], self.dir / "etcd.log")
        self.etcd.start()
        _wait(self.etcd, lambda: b'"health":"true"' in self._get(f"{self.etcd_url}/health"),
              self.start_timeout, "healthy")

    def start_apiserver(self) -> None:
        """(Re)start kube-apiserver on the same port with the same certs; wait for /readyz."""
        assert self._pki is not None and self.etcd is not None, "start() first"
        if self.apiserver is not None and self.apiserver.alive():
            return
        pki = self._pki
        kcm = self._admit_service_accounts
        self.apiserver = Process("kube-apiserver", [
            str(self.assets / "kube-apiserver"),
            f"--etcd-servers={self.etcd_url}",
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
            # 1.37 refuses a loopback advertise address with the default "lease" reconciler
            # (Endpoints may not be loopback): the `kubernetes` Service gets no endpoints.
            "--endpoint-reconciler-type=none",
            f"--secure-port={self.api_port}", f"--cert-dir={self.dir / 'apiserver-certs'}",
            f"--tls-cert-file={pki.serving_cert}", f"--tls-private-key-file={pki.serving_key}",
            f"--client-ca-file={pki.ca_file}",
            "--authorization-mode=RBAC",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={pki.sa_pub}",
            f"--service-account-signing-key-file={pki.sa_key}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--allow-privileged=true",
            *([] if kcm else ["--disable-admission-plugins=ServiceAccount"]),
        ], self.dir / "kube-apiserver.log")
        self.apiserver.start()
        _wait(self.apiserver, lambda: self._get(f"{self.url}/readyz") == b"ok",
              self.start_timeout, "ready (/readyz)")

    def stop_apiserver(self, timeout: float = 3.0) -> None:
        """Stop kube-apiserver only (etcd keeps the data); see start_apiserver().

        It stops listening at once on SIGTERM but may linger >10 s draining the
        controller manager's watches, hence the short wait before SIGKILL."""
        if self.apiserver is not None:
            self.apiserver.stop(timeout)

    @contextlib.contextmanager
    def apiserver_down(self) -> Iterator[None]:
        """`with cp.apiserver_down():` the API is unreachable inside, back afterwards.

        A running kube-controller-manager is restarted once the API is back. Its informers
        retry a refused watch with client-go's backoff (up to 30 s, jittered to 60 s, reset
        only after 2 quiet minutes), so after a few outages its controllers sat idle for a
        minute and the next test's namespace got no "default" ServiceAccount in time.
        """
        self.stop_apiserver()
        try:
            yield
        finally:
            self.start_apiserver()
            if self.controller_manager is not None and self.controller_manager.alive():
                self.controller_manager.stop()
                self._spawn_controller_manager(self._kcm_controllers)

    def start_controller_manager(self, controllers: str = DEFAULT_CONTROLLERS) -> None:
        """Start kube-controller-manager (idempotent) and turn on ServiceAccount admission."""
        if self.controller_manager is not None and self.controller_manager.alive():
            return
        # Restart the apiserver with the ServiceAccount admission plugin first, then start the
        # controller manager: started before the restart, its informers met refused
        # connections and backed off, and in one CI run its CronJob controller sat idle for
        # over 150 s (see apiserver_down).
        self._admit_service_accounts = True
        self.stop_apiserver()
        self.start_apiserver()
        self._spawn_controller_manager(controllers)

    def _spawn_controller_manager(self, controllers: str) -> None:
        assert self._pki is not None, "start() first"
        self._kcm_controllers = controllers
        port = free_port()
        self.controller_manager = Process("kube-controller-manager", [
            str(self.assets / "kube-controller-manager"),
            f"--kubeconfig={self.kubeconfig}", f"--controllers={controllers}",
            "--use-service-account-credentials=false", "--leader-elect=false",
            f"--service-account-private-key-file={self._pki.sa_key}",
            f"--root-ca-file={self._pki.ca_file}",
            "--bind-address=127.0.0.1", f"--secure-port={port}",
            f"--cert-dir={self.dir / 'kcm-certs'}",
        ], self.dir / "kube-controller-manager.log")
        self.controller_manager.start()
        _wait(self.controller_manager, lambda: self._get(f"https://127.0.0.1:{port}/healthz", verify=False) == b"ok",
              self.start_timeout, "healthy (/healthz)")

    def stop(self, remove: bool = True, keep_logs: bool = False) -> None:
        """Stop all processes; remove the temp dir (only etcd data if keep_logs)."""
        if self.controller_manager is not None:
            self.controller_manager.stop()
        self.stop_apiserver()
        if self.etcd is not None:
            self.etcd.stop()
        if remove and not self._closed:
            self._closed = True
            shutil.rmtree(self.dir / "etcd-data" if keep_logs else self.dir, ignore_errors=True)

    def _at_exit(self) -> None:
        self.stop(remove=not self._closed)

    def _ssl(self, verify: bool = True) -> ssl.SSLContext:
        assert self._pki is not None
        ctx = ssl.create_default_context(cafile=str(self._pki.ca_file))
        if not verify:
            ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        ctx.load_cert_chain(str(self._pki.admin_cert), str(self._pki.admin_key))
        return ctx

    def _get(self, url: str, verify: bool = True) -> bytes:
        try:
            ctx = self._ssl(verify) if url.startswith("https") else None
            with urllib.request.urlopen(url, timeout=2, context=ctx) as r:
                return bytes(r.read())
        except (OSError, urllib.error.URLError):
            return b""

    def _write_kubeconfig(self) -> None:
        assert self._pki is not None
        cfg = {  # JSON is valid YAML, so kubectl, helm and the Python client all read it
            "apiVersion": "v1", "kind": "Config", "current-context": "vigil",
            "clusters": [{"name": "vigil", "cluster": {
                "server": self.url, "certificate-authority": str(self._pki.ca_file)}}],
            "users": [{"name": "admin", "user": {
                "client-certificate": str(self._pki.admin_cert), "client-key": str(self._pki.admin_key)}}],
            "contexts": [{"name": "vigil", "context": {"cluster": "vigil", "user": "admin"}}],
        }
        self.kubeconfig.write_text(json.dumps(cfg, indent=2))

    def _configuration(self) -> kubernetes.client.Configuration:
        assert self._pki is not None
        c = kubernetes.client.Configuration()
        c.host, c.ssl_ca_cert = self.url, str(self._pki.ca_file)
        return c

    def admin_client(self) -> kubernetes.client.ApiClient:
        """An ApiClient authenticated as system:masters (client certificate)."""
        assert self._pki is not None
        c = self._configuration()
        c.cert_file, c.key_file = str(self._pki.admin_cert), str(self._pki.admin_key)
        return kubernetes.client.ApiClient(c)

    def token_client(self, namespace: str, service_account: str,
                     expiration_seconds: int = 3600) -> kubernetes.client.ApiClient:
        """An ApiClient authenticated as a ServiceAccount (created if needed) via TokenRequest."""
        with self.admin_client() as admin:
            core = kubernetes.client.CoreV1Api(admin)
            try:
                core.create_namespaced_service_account(
                    namespace, kubernetes.client.V1ServiceAccount(metadata=kubernetes.client.V1ObjectMeta(name=service_account)))
            except kubernetes.client.ApiException as e:
                if e.status != 409:
                    raise
            req = core.create_namespaced_service_account_token(
                service_account, namespace, kubernetes.client.AuthenticationV1TokenRequest(
                    spec=kubernetes.client.V1TokenRequestSpec(audiences=[], expiration_seconds=expiration_seconds)))
        assert req.status is not None and req.status.token
        c = self._configuration()
        c.api_key, c.api_key_prefix = {"authorization": req.status.token}, {"authorization": "Bearer"}
        return kubernetes.client.ApiClient(c)

    def kubectl(self, *args: str, input: str | None = None, check: bool = True,
                timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run the assets' kubectl against this control plane as admin."""
        return subprocess.run([str(self.assets / "kubectl"), f"--kubeconfig={self.kubeconfig}", *args],
                              input=input, capture_output=True, text=True, check=check, timeout=timeout)

    @property
    def helm(self) -> str | None:
        """helm from the assets dir, else from PATH (None if neither)."""
        own = self.assets / "helm"
        return str(own) if os.access(own, os.X_OK) else shutil.which("helm")

"""Probe one HTTP endpoint and say what was seen, in words a person can read.

    with make_client(deny=deny) as client:
        result = probe_one(ProbeTarget(id=1, url="https://example.org/health"), client=client)

Many at once, within a time budget: app.monitoring.probe_pool (probe_many, ProbeRun).

Guarantees:
- ``probe_one`` never raises for a failing endpoint: a timeout, a refused
  connection, a DNS or TLS failure, too many redirects or an invalid URL becomes
  a ``ProbeResult`` with ``ok=False`` and a short ``error`` a person can read
  ("timed out after 5s", "connection refused", "status 503").
- ``ok`` means: the final status (after at most ``MAX_REDIRECTS`` redirects) lies
  within ``[expected_min, expected_max]`` and, when a keyword is set, the
  keyword occurs (case-sensitive) in the first ``KEYWORD_BODY_LIMIT`` bytes of
  the decoded body text (HEAD has no body: its keyword is not checked).
  Every ``ok=False`` result carries an ``error``.
- ``latency_ms`` is measured with a monotonic clock, from sending the request
  until the final response's headers arrived (redirect hops included, body
  download excluded); it is None when no response arrived.
- ``checked_at`` is naive UTC (the form the database holds), taken when the
  probe starts.
- No connection is made to an address in ``deny`` (VIGIL_PROBE_DENY; by default
  link-local and cloud metadata): names are resolved once per connection, every
  address is checked, and the socket goes to a checked address (DNS rebinding
  cannot swap it). A redirect hop to a new host is checked the same way. A
  refusal is a result like any other failure: ``ok=False``, no status, and
  "address 169.254.169.254 is denied by VIGIL_PROBE_DENY (169.254.0.0/16)"
  (prefixed "redirect to URL: " at a hop). See app.monitoring.address_guard.

Caveats:
- httpx's timeout applies per phase (connect, each read, each write, waiting
  for a pooled connection) and per redirect hop, not to the whole exchange: an
  endpoint that trickles bytes can take longer than ``timeout_s`` to answer.
  Body reading stops at ``timeout_s`` after the start (checked between
  chunks); the pool's ``budget_s`` bounds a batch as a whole.
- Without a keyword, up to ``DRAIN_LIMIT`` bytes of the body are read so the
  connection can return to the pool; a longer body closes the connection.
- Proxy settings in the environment (HTTP_PROXY, HTTPS_PROXY) are NOT used: a
  proxy would resolve and connect where the deny list cannot see. TLS
  certificates are verified (SSL_CERT_FILE and SSL_CERT_DIR are honoured).
- The deny list is enforced by the client ``make_client`` builds; a client a
  caller builds itself is used as it is.
"""
from __future__ import annotations

import codecs
import errno
import socket
import ssl
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable

import httpx

from app.monitoring.address_guard import (DEFAULT_DENY, AddressDenied, GuardedTransport, Network,
                                          Resolver, system_resolver)

MAX_REDIRECTS = 5
KEYWORD_BODY_LIMIT = 1024 * 1024  # bytes of body searched for a keyword
DRAIN_LIMIT = 64 * 1024  # bytes read without a keyword, so small bodies keep the connection alive
ERROR_LIMIT = 500  # CheckResult.error and Incident.cause hold 500 characters


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("vigil")
    except Exception:  # not installed as a distribution (the usual case): read pyproject.toml
        pass
    try:
        import tomllib
        from pathlib import Path

        pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
        return tomllib.loads(pyproject.read_text())["project"]["version"]
    except Exception:
        return "dev"


USER_AGENT = f"Vigil/{_version()}"


@dataclass(frozen=True)
class ProbeTarget:
    """One endpoint to check; `id` comes back in the result as `target_id`."""
    id: int
    url: str
    method: str = "GET"
    timeout_s: float = 10.0
    expected_min: int = 200
    expected_max: int = 399
    keyword: str | None = None


@dataclass(frozen=True)
class ProbeResult:
    target_id: int
    ok: bool
    status_code: int | None
    latency_ms: float | None
    error: str | None
    checked_at: datetime  # naive UTC


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def make_client(*, max_connections: int = 64, deny: Iterable[Network] = DEFAULT_DENY,
                verify: ssl.SSLContext | bool = True,
                resolver: Resolver = system_resolver) -> httpx.Client:
    """The client a probe pool uses when given none: pooled, redirects on, Vigil's User-Agent,
    connecting to no address in `deny` (`resolver` and `verify` exist for tests)."""
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
    return httpx.Client(
        transport=GuardedTransport(deny=deny, limits=limits, verify=verify, resolver=resolver),
        follow_redirects=True, max_redirects=MAX_REDIRECTS,
        headers={"User-Agent": USER_AGENT},
        timeout=httpx.Timeout(10.0))


def probe_one(target: ProbeTarget, *, client: httpx.Client) -> ProbeResult:
    """Probe one target through `client`; never raises (errors become ok=False)."""
    checked_at = utcnow()
    started = time.monotonic()
    method = target.method.upper()
    status: int | None = None
    latency_ms: float | None = None
    try:
        with client.stream(method, target.url, timeout=httpx.Timeout(target.timeout_s)) as response:
            latency_ms = (time.monotonic() - started) * 1000.0
            status = response.status_code
            in_range = target.expected_min <= status <= target.expected_max
            body_deadline = started + target.timeout_s
            if in_range and target.keyword and method != "HEAD":
                found, timed_out, truncated = _find_keyword(response, target.keyword, body_deadline)
            else:
                _drain(response, body_deadline)
                found, timed_out, truncated = True, False, False
    except Exception as exc:  # every failure is a result, never an exception
        return ProbeResult(target.id, False, status, latency_ms,
                           clip_error(_hop(exc, target.url) + describe_error(exc, target.timeout_s)),
                           checked_at)
    error = None
    if not in_range:
        error = f"status {status}"
    elif timed_out:
        error = f"timed out after {target.timeout_s:g}s reading the body"
    elif not found:
        error = f"keyword {target.keyword!r} not found in the body"
        if truncated:
            error += f" (searched its first {KEYWORD_BODY_LIMIT // 1024} KiB)"
    return ProbeResult(target.id, error is None, status, round(latency_ms, 2),
                       clip_error(error) if error else None, checked_at)


def _hop(exc: BaseException, url: str) -> str:
    """"redirect to URL: " when a redirect hop (not the monitor's own URL) was refused."""
    if not any(isinstance(cause, AddressDenied) for cause in _causes(exc)):
        return ""
    try:
        hop_url = str(exc.request.url)  # type: ignore[attr-defined]
    except (AttributeError, RuntimeError):
        return ""
    return "" if hop_url == str(httpx.URL(url)) else f"redirect to {hop_url}: "


def _find_keyword(response: httpx.Response, keyword: str, deadline: float) -> tuple[bool, bool, bool]:
    """(found, timed out, body longer than the limit) reading at most KEYWORD_BODY_LIMIT bytes."""
    decoder = codecs.getincrementaldecoder(_codec(response))(errors="replace")
    text = ""
    read = 0
    for chunk in response.iter_bytes():
        chunk = chunk[:KEYWORD_BODY_LIMIT - read]
        read += len(chunk)
        searched_from = max(0, len(text) - len(keyword) + 1)
        text += decoder.decode(chunk, final=read >= KEYWORD_BODY_LIMIT)
        if keyword in text[searched_from:]:
            return True, False, False
        if read >= KEYWORD_BODY_LIMIT:
            return False, False, True
        if time.monotonic() > deadline:
            return False, True, False
    text += decoder.decode(b"", final=True)
    return keyword in text, False, False


def _drain(response: httpx.Response, deadline: float) -> None:
    read = 0
    for chunk in response.iter_raw():
        read += len(chunk)
        if read > DRAIN_LIMIT or time.monotonic() > deadline:
            return  # closing the unread response closes its connection; that is fine


def _codec(response: httpx.Response) -> str:
    try:
        return codecs.lookup(response.charset_encoding or "utf-8").name
    except LookupError:
        return "utf-8"


def describe_error(exc: BaseException, timeout_s: float) -> str:
    """A short, readable reason for a failed probe."""
    timeout = f"{timeout_s:g}s"
    if isinstance(exc, httpx.ConnectTimeout):
        return f"timed out after {timeout} connecting"
    if isinstance(exc, httpx.PoolTimeout):
        return f"timed out after {timeout} waiting for a free connection"
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out after {timeout}"
    if isinstance(exc, httpx.TooManyRedirects):
        return f"too many redirects (more than {MAX_REDIRECTS})"
    if isinstance(exc, httpx.UnsupportedProtocol):
        return f"invalid URL: {exc}"
    if isinstance(exc, (httpx.InvalidURL, httpx.LocalProtocolError)):
        return f"invalid URL: {exc}"
    if isinstance(exc, httpx.ConnectError):
        return _connect_error(exc)
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"protocol error: {exc}"
    if isinstance(exc, httpx.DecodingError):
        return f"could not decode the body: {exc}"
    if isinstance(exc, httpx.ReadError):
        return f"connection broken while reading: {_root_message(exc)}"
    if isinstance(exc, httpx.WriteError):
        return f"connection broken while sending: {_root_message(exc)}"
    if isinstance(exc, httpx.HTTPError):
        return f"{type(exc).__name__}: {exc}"
    return f"probe failed: {type(exc).__name__}: {exc}"


def _connect_error(exc: httpx.ConnectError) -> str:
    causes = list(_causes(exc))
    for cause in causes:
        if isinstance(cause, AddressDenied):
            return str(cause)
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"TLS certificate not valid: {cause.verify_message or cause.reason}"
        if isinstance(cause, ssl.SSLError):
            return f"TLS error: {cause.reason or cause}"
        if isinstance(cause, socket.gaierror):
            return _dns_failed(exc)
    text = " ".join(str(c) for c in causes).lower()
    codes = {getattr(c, "errno", None) for c in causes}
    if errno.ECONNREFUSED in codes or "connection refused" in text:
        return "connection refused"
    if "name or service not known" in text or "nodename nor servname" in text \
            or "temporary failure in name resolution" in text or "no address associated" in text:
        return _dns_failed(exc)
    if "certificate" in text:
        return f"TLS certificate not valid: {_root_message(exc)}"
    if "ssl" in text or "tls" in text:
        return f"TLS error: {_root_message(exc)}"
    if errno.ENETUNREACH in codes or "network is unreachable" in text:
        return "network unreachable"
    if errno.EHOSTUNREACH in codes or "no route to host" in text:
        return "host unreachable"
    if errno.ECONNRESET in codes or "connection reset" in text:
        return "connection reset"
    return f"connection failed: {_root_message(exc)}"


def _dns_failed(exc: httpx.ConnectError) -> str:
    try:
        return f"DNS lookup failed for {exc.request.url.host}"
    except RuntimeError:  # no request attached
        return "DNS lookup failed"


def _causes(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _root_message(exc: BaseException) -> str:
    *_, root = _causes(exc)
    return str(root) or type(root).__name__


def clip_error(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= ERROR_LIMIT else text[:ERROR_LIMIT - 1] + "…"

"""Refuse probe connections to denied addresses, checked after DNS, on every connection.

    client = httpx.Client(transport=GuardedTransport(deny=DEFAULT_DENY))

Guarantees:
- Every TCP connection the transport opens goes through ``GuardedBackend``:
  the host name is resolved ONCE, EVERY address it resolves to is checked
  against ``deny``, and the socket is then opened to one of those checked
  addresses, never to the name. A name whose answers change between the check
  and the connect (DNS rebinding) therefore cannot slip past: nothing is
  resolved again.
- If any address of a name is denied, the whole name is refused
  (``AddressDenied``, a ``httpcore.ConnectError``) and no connection is
  attempted to any of its addresses: an attacker's DNS cannot mix a public
  address with a metadata one and rely on the order we try them in.
- IPv4-mapped IPv6 addresses (``::ffff:169.254.169.254``) are checked as the
  IPv4 address they carry as well as in their IPv6 form; so are other
  spellings of an address (``2852039166``, ``0xa9fea9fe``), because the check
  runs on what the resolver returned, not on the URL's text.
- The HTTP layer is untouched: httpx still sends ``Host`` for the URL's name,
  and httpcore still starts TLS with SNI and certificate verification for that
  name (``start_tls(server_hostname=origin.host)``) on the socket we opened.
- Redirects: httpx makes each hop a new request through the same transport,
  so every hop to a new origin opens a new, checked connection. A hop to an
  origin already connected reuses that connection, whose address was checked
  when it opened.
- Connections are pooled per origin exactly as with ``httpx.HTTPTransport``
  (this is one, with a different network backend); a pool lives as long as its
  client, which ``probe_many`` makes per batch, so every check run resolves
  and checks afresh.

Why a network backend: it is httpcore's own hook for "how a TCP connection is
opened" (``httpcore.ConnectionPool(network_backend=...)``), so the check sits
exactly where the address is chosen, below redirects, pooling and TLS, with no
second resolution. Connecting itself is left to httpcore's ``SyncBackend``
(given a literal IP, it does no DNS), so timeouts, socket options and error
mapping stay the library's.

Caveats:
- httpx's ``HTTPTransport`` takes no ``network_backend`` argument (0.28), so
  ``GuardedTransport`` replaces the pool it built (``self._pool``, a private
  attribute) with one built by httpcore's public constructor. The tests that
  expect zero requests at a denied server fail if that ever stops working.
- Proxies are not used: a proxy resolves and connects on its own, where no
  deny list here can see. ``probe.make_client`` therefore passes this
  transport, which makes httpx ignore HTTP(S)_PROXY for probes.
- Resolution uses the system resolver (``socket.getaddrinfo``) with no timeout
  of its own, as ``socket.create_connection`` did before.
- Unix sockets are refused: the probe never asks for one.
"""
from __future__ import annotations

import ipaddress
import socket
import ssl
import typing
from collections.abc import Callable, Iterable, Sequence

import httpcore
import httpx

from app.config import DEFAULT_PROBE_DENY

Network = typing.Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
Address = typing.Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
Resolver = Callable[[str, int], Sequence[str]]

# The same default as app.config's VIGIL_PROBE_DENY, for callers without a Flask config.
DEFAULT_DENY: tuple[Network, ...] = tuple(
    ipaddress.ip_network(cidr.strip(), strict=False) for cidr in DEFAULT_PROBE_DENY.split(","))


def denied_by(address: str | Address, deny: Iterable[Network]) -> Network | None:
    """The first network of `deny` that holds `address` (or the IPv4 address it maps), else None.

    `address` may carry an IPv6 zone (``fe80::1%eth0``); the zone does not change the match.
    """
    if isinstance(address, str):
        address = ipaddress.ip_address(address)
    candidates: list[Address] = [address]
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id is not None:
            address = ipaddress.IPv6Address(str(address).split("%", 1)[0])
            candidates = [address]
        if address.ipv4_mapped is not None:
            candidates.append(address.ipv4_mapped)
    for network in deny:
        for candidate in candidates:
            if candidate.version == network.version and candidate in network:
                return network
    return None


class AddressDenied(httpcore.ConnectError):
    """A host resolved to an address in the deny list; nothing was connected."""

    def __init__(self, host: str, address: str, network: Network) -> None:
        self.host, self.address, self.network = host, address, network
        named = "" if _same_address(host, address) else f" ({host})"
        super().__init__(f"address {address}{named} is denied by VIGIL_PROBE_DENY ({network})")


def system_resolver(host: str, port: int) -> list[str]:
    """Every address `host` resolves to for TCP, in the resolver's order, without repeats."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[str] = []
    for _family, _type, _proto, _canonical, sockaddr in infos:
        if sockaddr[0] not in addresses:
            addresses.append(sockaddr[0])
    return addresses


class GuardedBackend(httpcore.NetworkBackend):
    """httpcore's SyncBackend, but resolving once and connecting only to checked addresses."""

    def __init__(self, deny: Iterable[Network], *, resolver: Resolver = system_resolver,
                 inner: httpcore.NetworkBackend | None = None) -> None:
        self.deny = tuple(deny)
        self.resolver = resolver
        self.inner = inner or httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[typing.Any] | None = None) -> httpcore.NetworkStream:
        addresses = self.resolve(host, port)
        for address in addresses:
            network = denied_by(address, self.deny)
            if network is not None:
                raise AddressDenied(host, address, network)
        last_error: Exception | None = None
        for address in addresses:  # as socket.create_connection does, but over checked addresses
            try:
                return self.inner.connect_tcp(address, port, timeout=timeout,
                                              local_address=local_address,
                                              socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        assert last_error is not None
        raise last_error

    def resolve(self, host: str, port: int) -> list[str]:
        try:
            addresses = list(self.resolver(host, port))
        except socket.gaierror as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        if not addresses:
            raise httpcore.ConnectError(f"no address associated with {host}")
        return addresses

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[typing.Any] | None = None) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not probed")

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """httpx's own transport (request mapping, error mapping, pooling), over GuardedBackend."""

    def __init__(self, *, deny: Iterable[Network] = DEFAULT_DENY,
                 limits: httpx.Limits = httpx.Limits(max_connections=64, max_keepalive_connections=64),
                 verify: ssl.SSLContext | bool = True, resolver: Resolver = system_resolver) -> None:
        ssl_context = httpx.create_ssl_context(verify=verify)  # honours SSL_CERT_FILE/SSL_CERT_DIR
        super().__init__(verify=ssl_context, limits=limits)
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context, max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(deny, resolver=resolver))


def _same_address(host: str, address: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")) == ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False

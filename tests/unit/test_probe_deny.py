"""VIGIL_PROBE_DENY: no probe connects to a denied address, checked after DNS on every check.

Real parts only: HTTP(S) servers on loopback that count what reaches them, the
system resolver for ``localhost``, and resolvers the tests control (plain
functions from a name to addresses) for names that resolve nowhere else. A
denied target is put on loopback, with the loopback range denied for that
test, so a broken guard shows up as a request at a server, never as traffic
leaving the machine.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from app.monitoring.address_guard import DEFAULT_DENY, denied_by
from app.monitoring.probe import ProbeTarget, make_client
from app.monitoring.probe_pool import probe_many
from testkit.monitors import make_monitor
from testkit.probing import LocalHTTPServer, next_slot, run_check_monitors

LOOPBACK_DENY = "127.0.0.0/8,::1/128"  # what these tests deny instead of the metadata ranges


def networks(cidrs: str) -> tuple:
    return tuple(ipaddress.ip_network(c) for c in cidrs.split(",")) if cidrs != "none" else ()


def probe(url: str, **client_options):
    """One probe through the client probe_many builds (deny, resolver, verify as given)."""
    client = make_client(**client_options)
    try:
        [result] = probe_many([ProbeTarget(id=1, url=url, timeout_s=3)], client=client)
    finally:
        client.close()
    return result


def resolver(table: dict[str, list[str]], calls: list[str] | None = None):
    """A resolver the test controls: names in `table` only (anything else fails like DNS)."""
    def resolve(host: str, port: int) -> list[str]:
        if calls is not None:
            calls.append(host)
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return table[host]
    return resolve


@pytest.fixture
def second_loopback_server():
    """A server on 127.0.0.2: denied by `127.0.0.2/32` while 127.0.0.1 stays allowed."""
    server = LocalHTTPServer(host="127.0.0.2").start()
    yield server
    server.stop()


# --- the pure logic -----------------------------------------------------------------------

@pytest.mark.parametrize("address, network", [
    ("169.254.169.254", "169.254.0.0/16"),  # AWS, GCP, Azure, OpenStack metadata
    ("169.254.0.1", "169.254.0.0/16"),
    ("fe80::1", "fe80::/10"),
    ("fe80::1%eth0", "fe80::/10"),  # a zone does not hide a link-local address
    ("fd00:ec2::254", "fd00:ec2::254/128"),  # AWS metadata over IPv6
    ("100.100.100.200", "100.100.100.200/32"),  # Alibaba
    ("168.63.129.16", "168.63.129.16/32"),  # Azure wire server
    ("::ffff:169.254.169.254", "169.254.0.0/16"),  # IPv4-mapped IPv6
    ("::ffff:a9fe:a9fe", "169.254.0.0/16"),  # the same, spelt in hex
])
def test_the_default_list_denies_link_local_and_metadata(address, network):
    assert denied_by(address, DEFAULT_DENY) == ipaddress.ip_network(network)


@pytest.mark.parametrize("address", [
    "127.0.0.1", "::1", "::ffff:127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "fc00::1",
    "fd00:ec2::253", "100.100.100.201", "8.8.8.8", "2001:db8::1", "169.255.0.1",
])
def test_loopback_private_and_public_addresses_stay_allowed_by_default(address):
    assert denied_by(address, DEFAULT_DENY) is None


def test_the_guard_default_is_the_config_default(tmp_path):
    from app.config import load

    assert load({}, instance_path=str(tmp_path))["VIGIL_PROBE_DENY"] == DEFAULT_DENY
    assert load({"VIGIL_PROBE_DENY": "none"}, instance_path=str(tmp_path))["VIGIL_PROBE_DENY"] == ()


def test_an_ipv4_network_never_matches_a_plain_ipv6_address():
    assert denied_by("::a9fe:a9fe", DEFAULT_DENY) is None  # IPv4-compatible is not IPv4-mapped
    assert denied_by("::1", networks("127.0.0.0/8")) is None
    assert denied_by("::ffff:127.0.0.1", networks(LOOPBACK_DENY)) == ipaddress.ip_network("127.0.0.0/8")


@given(st.ip_addresses(v=4), st.ip_addresses(v=4), st.integers(min_value=0, max_value=32))
def test_a_mapped_address_is_denied_exactly_when_its_ipv4_address_is(address, base, prefix):
    deny = (ipaddress.ip_network(f"{base}/{prefix}", strict=False),)
    mapped = ipaddress.IPv6Address(f"::ffff:{address}")
    assert denied_by(mapped, deny) == denied_by(address, deny) == (deny[0] if address in deny[0] else None)


# --- after DNS, against real servers ----------------------------------------------------------

def test_a_name_that_resolves_to_a_denied_address_gets_no_request(http_server):
    url = f"http://localhost:{http_server.server_address[1]}/ok"
    refused = probe(url, deny=networks(LOOPBACK_DENY))
    assert (refused.ok, refused.status_code, refused.latency_ms) == (False, None, None)
    assert refused.error == "address 127.0.0.1 (localhost) is denied by VIGIL_PROBE_DENY (127.0.0.0/8)"
    assert http_server.requests == []

    assert probe(url, deny=networks("none")).ok  # the same server, reachable without a list
    assert probe(url).ok  # and with the default list: loopback is allowed by default
    assert len(http_server.requests) == 2


@pytest.mark.parametrize("host", ["127.0.0.1", "[::ffff:127.0.0.1]", "2130706433", "0x7f.1"])
def test_every_spelling_of_a_denied_address_is_refused(http_server, host):
    result = probe(f"http://{host}:{http_server.server_address[1]}/ok", deny=networks(LOOPBACK_DENY))
    assert not result.ok
    assert result.error.startswith("address ") and "is denied by VIGIL_PROBE_DENY (127.0.0.0/8)" in result.error
    assert http_server.requests == []


def test_one_denied_address_among_allowed_ones_refuses_the_name(http_server):
    # An attacker's DNS answers with a public-looking and a denied address: refuse, try neither.
    names = resolver({"mixed.test": ["127.0.0.1", "127.0.0.2"]})
    result = probe(f"http://mixed.test:{http_server.server_address[1]}/ok",
                   deny=networks("127.0.0.2/32"), resolver=names)
    assert result.error == "address 127.0.0.2 (mixed.test) is denied by VIGIL_PROBE_DENY (127.0.0.2/32)"
    assert http_server.requests == []


def test_resolved_once_per_connection_and_connected_to_the_checked_address(http_server):
    # A rebinding resolver: the first answer is allowed, every later one is denied. The name
    # resolves nowhere else, so a connect by name (a second lookup) would fail as well.
    calls: list[str] = []
    answers = iter([["127.0.0.1"]])

    def rebinding(host: str, port: int) -> list[str]:
        calls.append(host)
        return next(answers, ["169.254.169.254"])

    port = http_server.server_address[1]
    client = make_client(max_connections=1, resolver=rebinding)
    try:
        results = probe_many([ProbeTarget(id=i, url=f"http://rebind.test:{port}/ok") for i in range(3)],
                             client=client, max_workers=1)
    finally:
        client.close()
    assert [r.ok for r in results] == [True] * 3, results
    assert calls == ["rebind.test"]  # one lookup, one kept-alive connection for three probes
    assert len({address for *_, address in http_server.requests}) == 1
    assert {headers["Host"] for _, _, headers, _ in http_server.requests} == {f"rebind.test:{port}"}


def test_dns_failure_still_reads_as_one():
    result = probe("http://nowhere.test/", resolver=resolver({}))
    assert result.error == "DNS lookup failed for nowhere.test"


# --- redirects ----------------------------------------------------------------------------------

@pytest.mark.parametrize("named", [False, True], ids=["address", "name"])
def test_a_redirect_to_a_denied_address_is_refused_at_the_hop(http_server, second_loopback_server, named):
    port = second_loopback_server.server_address[1]
    hop = f"http://metadata.test:{port}/ok" if named else f"http://127.0.0.2:{port}/ok"
    names = resolver({"metadata.test": ["127.0.0.2"], "127.0.0.1": ["127.0.0.1"],
                      "127.0.0.2": ["127.0.0.2"]})
    start = f"{http_server.base_url}/to?url={hop}"

    refused = probe(start, deny=networks("127.0.0.2/32"), resolver=names)
    shown = " (metadata.test)" if named else ""
    assert (refused.ok, refused.status_code) == (False, None)
    assert refused.error == (f"redirect to {hop}: address 127.0.0.2{shown} is denied by "
                             f"VIGIL_PROBE_DENY (127.0.0.2/32)")
    assert [path for _, path, _, _ in http_server.requests] == [f"/to?url={hop}"]
    assert second_loopback_server.requests == []

    followed = probe(start, deny=networks("none"), resolver=names)
    assert (followed.ok, followed.status_code) == (True, 200), followed
    assert len(second_loopback_server.requests) == 1


# --- TLS keeps the original name ----------------------------------------------------------------

def _certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A test CA, and a server certificate for vigil.test signed by it: (ca, cert, key) PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.timezone.utc)

    def build(subject: str, key, issuer: str, issuer_key, *, ca: bool):
        builder = (x509.CertificateBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
                   .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - dt.timedelta(minutes=5))
                   .not_valid_after(now + dt.timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                                  critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                       issuer_key.public_key()), critical=False))
        if ca:
            builder = builder.add_extension(x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                key_encipherment=False, data_encipherment=False, key_agreement=False,
                encipher_only=False, decipher_only=False), critical=True)
        else:
            builder = (builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(subject)]),
                                             critical=False)
                       .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                                      critical=False))
        return builder.sign(issuer_key, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_cert = build("Vigil test CA", ca_key, "Vigil test CA", ca_key, ca=True)
    cert = build("vigil.test", key, "Vigil test CA", ca_key, ca=False)
    paths = directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    paths[0].write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


class TLSServer(LocalHTTPServer):
    """LocalHTTPServer behind TLS; records the SNI name of every handshake."""

    def __init__(self, cert: Path, key: Path) -> None:
        super().__init__()
        self.server_names: list[str | None] = []
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        context.sni_callback = lambda _sock, name, _ctx: self.server_names.append(name)
        self.socket = context.wrap_socket(self.socket, server_side=True)


def test_tls_uses_the_original_name_for_sni_host_and_certificate(tmp_path):
    ca, cert, key = _certificates(tmp_path)
    server = TLSServer(cert, key).start()
    try:
        port = server.server_address[1]
        names = resolver({"vigil.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]})
        trust = ssl.create_default_context(cafile=str(ca))

        result = probe(f"https://vigil.test:{port}/ok", resolver=names, verify=trust)
        assert (result.ok, result.status_code) == (True, 200), result
        assert server.server_names == ["vigil.test"]
        assert [headers["Host"] for _, _, headers, _ in server.requests] == [f"vigil.test:{port}"]

        # The same address under a name the certificate does not hold: verified against the name.
        wrong = probe(f"https://other.test:{port}/ok", resolver=names, verify=trust)
        assert not wrong.ok and wrong.error.startswith("TLS certificate not valid"), wrong.error
        assert "other.test" in wrong.error
        assert len(server.requests) == 1

        denied = probe(f"https://vigil.test:{port}/ok", resolver=names, verify=trust,
                       deny=networks(LOOPBACK_DENY))
        assert denied.error.startswith("address 127.0.0.1 (vigil.test) is denied"), denied.error
        assert server.server_names == ["vigil.test", "other.test"]  # no handshake for the denied one
    finally:
        server.stop()


# --- the check-monitors job (run_job, SQLite) ---------------------------------------------------

def test_the_job_records_a_refusal_and_reads_the_list_on_every_run(app, http_server):
    from app.extensions import db
    from app.models import CheckResult, Incident, Monitor

    url = f"http://localhost:{http_server.server_address[1]}/ok"
    message = "address 127.0.0.1 (localhost) is denied by VIGIL_PROBE_DENY (127.0.0.0/8)"
    slot = next_slot()
    with app.app_context():
        db.session.add(make_monitor("internal by name", url))
        db.session.commit()  # saved while allowed (the default list): refused at check time

        app.config["VIGIL_PROBE_DENY"] = networks(LOOPBACK_DENY)
        first = run_check_monitors(slot)
        assert (first.outcome, first.message) == ("succeeded", "checked 1 monitors: 0 up, 1 down")
        [check] = db.session.scalars(sa.select(CheckResult)).all()
        assert (check.ok, check.status_code, check.latency_ms, check.error) == (False, None, None, message)
        [incident] = db.session.scalars(sa.select(Incident)).all()
        assert incident.cause == message
        assert db.session.scalar(sa.select(Monitor.is_up)) is False
        assert http_server.requests == []

        app.config["VIGIL_PROBE_DENY"] = networks("none")
        second = run_check_monitors(slot + dt.timedelta(minutes=1))
        assert second.message == "checked 1 monitors: 1 up, 0 down", second.message
        assert len(http_server.requests) == 1

        app.config["VIGIL_PROBE_DENY"] = networks(LOOPBACK_DENY)
        third = run_check_monitors(slot + dt.timedelta(minutes=2))
        assert third.message == "checked 1 monitors: 0 up, 1 down", third.message
        assert len(http_server.requests) == 1

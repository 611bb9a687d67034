"""Provider HTTPS clients share the process's one TLS context: httpx would otherwise build one per client (the
CA bundle loaded again, about 20 ms of CPU), that is per GHL client of every live tool call, note and
write-back."""

import ssl

import httpx

from integrations.http import ProviderHttp, tls_context


def _context(http: ProviderHttp) -> ssl.SSLContext:
    return http.http._transport._pool._ssl_context


def test_clients_over_the_network_share_one_tls_context_that_verifies_certificates():
    first, second = ProviderHttp(base_url="https://a.test"), ProviderHttp(base_url="https://b.test")
    try:
        assert _context(first) is _context(second) is tls_context()
        assert tls_context().verify_mode == ssl.CERT_REQUIRED and tls_context().check_hostname
    finally:
        first.http.close()
        second.http.close()
    assert _context(ProviderHttp(base_url="https://c.test")) is tls_context(), "closing a client keeps it usable"


def test_a_client_given_a_transport_uses_it():
    transport = httpx.MockTransport(lambda request: httpx.Response(204))
    http = ProviderHttp(base_url="https://a.test", transport=transport)
    assert http.request("GET", "/ping").status_code == 204

"""app.fetch in-process against a loopback server: limits, retries, redirects, refused addresses."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import time
from urllib.parse import quote

import pytest

from app.fetch import FetchError, FetchPolicy, address_problem, fetch, parse_allow_hosts
from tests import sample_images
from tests.loopback import LoopbackServer

LOCAL = frozenset({"127.0.0.1"})
FAST = FetchPolicy(
    max_bytes=1024 * 1024,
    connect_timeout=1.0,
    read_timeout=1.0,
    deadline=8.0,
    retries=2,
    backoff=0.05,
    allow_hosts=LOCAL,
)


@pytest.fixture(scope="module")
def server():
    with LoopbackServer() as srv:
        srv.files["photo.jpg"] = (sample_images.jpeg(), "image/jpeg")
        srv.files["page.html"] = (sample_images.HTML, "image/jpeg")
        yield srv


def refused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def error_of(url: str, policy: FetchPolicy = FAST) -> str:
    with pytest.raises(FetchError) as info:
        fetch(url, policy)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_good_download_returns_the_exact_bytes(server):
    assert fetch(server.url("/img/photo.jpg"), FAST) == server.files["photo.jpg"][0]


def test_body_without_content_length_is_read_to_the_end(server):
    assert fetch(server.url("/nolen/photo.jpg"), FAST) == server.files["photo.jpg"][0]


def test_content_type_is_not_trusted_the_bytes_come_back_as_they_are(server):
    # HTML served as image/jpeg is delivered; the decoder (not the header) decides it is no image.
    assert fetch(server.url("/img/page.html"), FAST) == sample_images.HTML


def test_404_is_one_line_without_retry(server):
    assert error_of(server.url("/status/404")) == "HTTP 404 Not Found"
    assert server.hits["/status/404"] == 1


def test_500_then_success_is_retried(server):
    assert fetch(server.url("/flaky/photo.jpg"), FAST) == server.files["photo.jpg"][0]


def test_500_every_time_gives_up_after_the_retries(server):
    assert error_of(server.url("/status/503")) == "HTTP 503 Service Unavailable (after 3 attempts)"
    assert server.hits["/status/503"] == 3


def test_connection_refused():
    assert error_of(f"http://127.0.0.1:{refused_port()}/x.jpg") == "connection refused"


def test_stalled_body_hits_the_read_timeout_and_is_retried(server):
    policy = FetchPolicy(read_timeout=0.5, connect_timeout=0.5, retries=1, backoff=0.05, allow_hosts=LOCAL)
    t0 = time.monotonic()
    assert error_of(server.url("/stall"), policy) == "timed out reading the response body (after 2 attempts)"
    assert time.monotonic() - t0 < 3


def test_slow_drip_is_stopped_by_the_deadline(server):
    policy = FetchPolicy(read_timeout=2.0, deadline=1.0, retries=0, allow_hosts=LOCAL)
    t0 = time.monotonic()
    assert error_of(server.url("/drip"), policy) == "download deadline exceeded (1 s)"
    assert time.monotonic() - t0 < 3


def test_dripped_headers_are_stopped_by_the_deadline(server):
    policy = FetchPolicy(read_timeout=2.0, deadline=1.0, retries=0, allow_hosts=LOCAL)
    t0 = time.monotonic()
    assert error_of(server.url("/drip-headers"), policy) == "download deadline exceeded (1 s)"
    assert time.monotonic() - t0 < 3


def test_size_cap_from_content_length(server):
    assert error_of(server.url("/big-len")) == (
        f"download too large: Content-Length {500 * 1024 * 1024} bytes > limit {1024 * 1024}"
    )


def test_size_cap_while_streaming_without_content_length(server):
    assert error_of(server.url("/big-nolen")) == f"download too large: more than {1024 * 1024} bytes"


def test_redirects_are_followed_up_to_five(server):
    assert fetch(server.url("/redirect/5/photo.jpg"), FAST) == server.files["photo.jpg"][0]
    assert error_of(server.url("/redirect/6/photo.jpg")) == "too many redirects (more than 5)"


def test_redirect_loop(server):
    assert error_of(server.url("/redirect-loop")) == "too many redirects (more than 5)"


def test_redirect_to_cloud_metadata_is_refused_before_connecting(server):
    target = quote("http://169.254.169.254/latest/meta-data/", safe="")
    t0 = time.monotonic()
    assert (
        error_of(server.url(f"/to/{target}")) == "download refused: 169.254.169.254 is a link-local address"
    )
    assert time.monotonic() - t0 < 1  # refused, not a connect timeout


def test_redirect_to_a_host_that_is_not_allowed_is_refused(server):
    # Only "127.0.0.1" is allowed: the same address under the name localhost is not.
    target = quote(f"http://localhost:{server.httpd.server_port}/img/photo.jpg", safe="")
    assert (
        error_of(server.url(f"/to/{target}"))
        == "download refused: localhost (127.0.0.1) is a loopback address"
    )


def test_redirect_to_another_scheme_is_refused(server):
    target = quote("file:///etc/passwd", safe="")
    assert error_of(server.url(f"/to/{target}")) == "unsupported URL scheme 'file' (only http and https)"


@pytest.mark.parametrize("url, scheme", [("file:///etc/passwd", "file"), ("ftp://127.0.0.1/x.jpg", "ftp")])
def test_only_http_and_https(url, scheme):
    assert error_of(url) == f"unsupported URL scheme '{scheme}' (only http and https)"


def test_loopback_is_refused_without_the_allow_list(server):
    before = dict(server.hits)
    message = error_of(server.url("/img/photo.jpg"), FetchPolicy(retries=0))
    assert message == "download refused: 127.0.0.1 is a loopback address"
    assert server.hits == before  # nothing reached the server


@pytest.mark.parametrize(
    "url, reason",
    [
        ("http://10.1.2.3/x", "10.1.2.3 is a private address"),
        ("http://192.168.0.1/x", "192.168.0.1 is a private address"),
        ("http://[::1]/x", "::1 is a loopback address"),
        ("http://[::ffff:127.0.0.1]/x", "::ffff:127.0.0.1 is a loopback address"),
        ("http://0.0.0.0/x", "0.0.0.0 is an unspecified address"),
        ("http://224.0.0.1/x", "224.0.0.1 is a multicast address"),
    ],
)
def test_refused_literal_addresses(url, reason):
    assert error_of(url, FetchPolicy(retries=0)) == f"download refused: {reason}"


@pytest.mark.parametrize(
    "ip, problem",
    [
        ("127.0.0.1", "a loopback address"),
        ("169.254.169.254", "a link-local address"),
        ("fe80::1", "a link-local address"),
        ("10.0.0.1", "a private address"),
        ("172.16.5.4", "a private address"),
        ("fc00::1", "a private address"),
        ("239.255.255.250", "a multicast address"),
        ("240.0.0.1", "a reserved address"),
        ("100.64.0.1", "not a public address"),
        ("::ffff:10.0.0.1", "a private address"),
        ("93.184.216.34", None),
        ("2606:4700:4700::1111", None),
    ],
)
def test_address_classification(ip, problem):
    assert address_problem(ip) == problem


def test_unresolvable_host():
    message = error_of("http://no-such-host.invalid/x.jpg", FetchPolicy(retries=0))
    assert message.startswith("cannot resolve host 'no-such-host.invalid'")


def test_allow_hosts_parsing():
    assert parse_allow_hosts(["127.0.0.1", "Example.org, [::1]", ""]) == {"127.0.0.1", "example.org", "::1"}


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    """HTTPS on 127.0.0.1 with a self-signed certificate (needs the openssl command)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl command not available")
    tmp = tmp_path_factory.mktemp("tls")
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(tmp / "k.pem"),
            "-out",
            str(tmp / "c.pem"),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    with LoopbackServer() as srv:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tmp / "c.pem", tmp / "k.pem")
        srv.httpd.socket = context.wrap_socket(srv.httpd.socket, server_side=True)
        yield srv.base.replace("http://", "https://")


def test_https_goes_through_the_address_check(tls_server):
    assert error_of(tls_server + "/status/404", FetchPolicy(retries=0)) == (
        "download refused: 127.0.0.1 is a loopback address"
    )


def test_https_certificates_are_verified(tls_server):
    message = error_of(tls_server + "/status/404", FAST)
    assert message.startswith("connection failed: [SSL: CERTIFICATE_VERIFY_FAILED]")


@pytest.mark.parametrize(
    "url, message",
    [
        ("http://[::1", "malformed URL (Invalid IPv6 URL)"),
        ("http:///x.jpg", "URL has no host"),
        ("HTTP://127.0.0.1:1/x", "connection refused"),  # the scheme is case-insensitive
    ],
)
def test_malformed_urls(url, message):
    assert error_of(url) == message

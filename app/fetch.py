"""Safe download of one image URL given by a stranger.

Every connection is opened by `_GuardedConnection`, which resolves the host itself, refuses
non-public addresses and then connects to the very IP it checked, so a DNS answer cannot change
between the check and the connection. Redirects are followed by hand so that every hop goes
through the same check, the scheme filter and the redirect count.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
CHUNK = 64 * 1024
USER_AGENT = "mask-rcnn-iexec/1.0"
# The in-thread checks normally stop a download at the deadline; this is the hard stop after it.
DEADLINE_GRACE = 1.0


class FetchError(Exception):
    """A download failed; the message is one line meant for the requester."""


class RefusedAddress(Exception):
    """Raised from inside the connection with the final one-line message (refused or unresolvable
    address). Not an OSError on purpose: urllib3 and requests let it through instead of wrapping it."""


class _Retryable(Exception):
    """A failure worth another attempt (timeout or HTTP 5xx); the message is kept for the last one."""


@dataclass(frozen=True)
class FetchPolicy:
    """Limits of one download. The deadline covers all attempts and redirects of one URL."""

    max_bytes: int = 20 * 1024 * 1024
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    deadline: float = 60.0
    max_redirects: int = 5
    retries: int = 2
    backoff: float = 0.5
    allow_hosts: frozenset[str] = field(default_factory=frozenset)


def address_problem(ip: str) -> str | None:
    """Why `ip` must not be contacted ("a link-local address"...), or None for a public address."""
    addr = ipaddress.ip_address(ip.split("%", 1)[0])
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped  # ::ffff:127.0.0.1 is loopback too
    # Order matters: 169.254.x is also "private" in ipaddress, but link-local says more.
    checks = (
        ("is_unspecified", "an unspecified address"),
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address"),
        ("is_multicast", "a multicast address"),
        ("is_reserved", "a reserved address"),
        ("is_private", "a private address"),
    )
    for attr, reason in checks:
        if getattr(addr, attr):
            return reason
    if not addr.is_global:  # e.g. 100.64.0.0/10 (carrier-grade NAT)
        return "not a public address"
    return None


def _resolve(host: str, port: int) -> list[tuple[int, str]]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise RefusedAddress(f"cannot resolve host {host!r} ({e.strerror})") from None
    seen: list[tuple[int, str]] = []
    for family, _, _, _, sockaddr in infos:
        if (family, sockaddr[0]) not in seen:
            seen.append((family, sockaddr[0]))
    return seen


def _connection_classes(allow_hosts: frozenset[str]) -> tuple[type, type]:
    """HTTP and HTTPS connection classes bound to this policy's allow list."""

    def new_conn(self: HTTPConnection) -> socket.socket:
        host = self._dns_host.strip("[]")
        allowed = host.lower() in allow_hosts
        addresses = _resolve(host, self.port)
        for _, ip in addresses:
            problem = None if allowed else address_problem(ip)
            if problem:
                name = ip if ip == host else f"{host} ({ip})"
                raise RefusedAddress(f"download refused: {name} is {problem}")
        last: OSError | None = None
        for family, ip in addresses:
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                sock.settimeout(self.timeout)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sock.connect((ip, self.port))
                return sock
            except OSError as e:
                sock.close()
                last = e
        assert last is not None  # getaddrinfo never returns an empty list
        if isinstance(last, TimeoutError):
            raise urllib3.exceptions.ConnectTimeoutError(self, f"connect timeout ({self.timeout} s)")
        raise urllib3.exceptions.NewConnectionError(self, f"{last.strerror or last}")

    http_cls = type("GuardedHTTPConnection", (HTTPConnection,), {"_new_conn": new_conn})
    https_cls = type("GuardedHTTPSConnection", (HTTPSConnection,), {"_new_conn": new_conn})
    return http_cls, https_cls


class _GuardedAdapter(HTTPAdapter):
    def __init__(self, allow_hosts: frozenset[str]):
        self._classes = _connection_classes(allow_hosts)
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        http_cls, https_cls = self._classes
        self.poolmanager.pool_classes_by_scheme = {
            "http": type("GuardedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http_cls}),
            "https": type("GuardedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https_cls}),
        }


def _session(policy: FetchPolicy) -> requests.Session:
    session = requests.Session()
    # No proxies or .netrc from the environment: a proxy would bypass the address check.
    session.trust_env = False
    adapter = _GuardedAdapter(frozenset(h.lower() for h in policy.allow_hosts))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.update({"User-Agent": USER_AGENT, "Accept-Encoding": "identity", "Accept": "image/*"})
    return session


def _root_cause(exc: BaseException) -> BaseException:
    """The innermost exception of a requests/urllib3 wrapping chain (for RefusedAddress and errno)."""
    seen = set()
    while id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, RefusedAddress):
            return exc
        inner = exc.__cause__ or exc.__context__
        if inner is None and exc.args and isinstance(exc.args[0], BaseException):
            inner = exc.args[0]
        if inner is None:
            reason = getattr(exc, "reason", None)
            inner = reason if isinstance(reason, BaseException) else None
        if inner is None:
            break
        exc = inner
    return exc


def _check_scheme(url: str) -> None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a malformed or out-of-range port
    except ValueError as e:
        raise FetchError(f"malformed URL ({e})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        shown = f"'{scheme}'" if scheme else "none"
        raise FetchError(f"unsupported URL scheme {shown} (only http and https)")
    if not parts.hostname:
        raise FetchError("URL has no host")


def _read_body(resp: requests.Response, policy: FetchPolicy, t_end: float) -> bytes:
    length = resp.headers.get("Content-Length")
    if length is not None and length.strip().isdigit() and int(length) > policy.max_bytes:
        raise FetchError(f"download too large: Content-Length {int(length)} bytes > limit {policy.max_bytes}")
    parts: list[bytes] = []
    total = 0
    while True:
        # read1 returns what has arrived (at most one read timeout of waiting), so the size cap
        # and the deadline are checked while streaming, whatever Content-Length said.
        chunk = resp.raw.read1(CHUNK)
        if not chunk:
            break
        total += len(chunk)
        if total > policy.max_bytes:
            raise FetchError(f"download too large: more than {policy.max_bytes} bytes")
        parts.append(chunk)
        if time.monotonic() > t_end:
            raise FetchError(f"download deadline exceeded ({policy.deadline:g} s)")
    if length is not None and length.strip().isdigit() and total < int(length):
        raise _Retryable(f"connection closed after {total} of {int(length)} bytes")
    return b"".join(parts)


def _attempt(session: requests.Session, url: str, policy: FetchPolicy, t_end: float) -> bytes:
    """One attempt: follow up to max_redirects hops, return the body of the final response."""
    hops = 0
    while True:
        _check_scheme(url)
        left = t_end - time.monotonic()
        if left <= 0:
            raise FetchError(f"download deadline exceeded ({policy.deadline:g} s)")
        timeout = (min(policy.connect_timeout, left), min(policy.read_timeout, left))
        try:
            resp = session.get(url, stream=True, allow_redirects=False, timeout=timeout)
        except RefusedAddress as e:
            raise FetchError(str(e)) from None
        except requests.exceptions.Timeout as e:
            connecting = isinstance(e, requests.exceptions.ConnectTimeout)
            what = "connecting" if connecting else "waiting for a response"
            raise _Retryable(f"timed out {what}") from None
        except requests.exceptions.RequestException as e:
            raise FetchError(_describe(e)) from None
        with resp:
            if resp.status_code in REDIRECT_CODES and resp.headers.get("Location"):
                hops += 1
                if hops > policy.max_redirects:
                    raise FetchError(f"too many redirects (more than {policy.max_redirects})")
                url = urljoin(url, resp.headers["Location"])
                continue
            if resp.status_code >= 500:
                raise _Retryable(f"HTTP {resp.status_code} {resp.reason or ''}".rstrip())
            if resp.status_code != 200:
                raise FetchError(f"HTTP {resp.status_code} {resp.reason or ''}".rstrip())
            try:
                return _read_body(resp, policy, t_end)
            except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, OSError) as e:
                timed_out = isinstance(e, urllib3.exceptions.ReadTimeoutError | TimeoutError)
                if timed_out or isinstance(_root_cause(e), TimeoutError):
                    raise _Retryable("timed out reading the response body") from None
                raise FetchError(f"connection broken while reading: {_describe(e)}") from None


def _describe(exc: BaseException) -> str:
    root = _root_cause(exc)
    if isinstance(root, RefusedAddress):
        return str(root)
    if isinstance(root, ConnectionRefusedError):
        return "connection refused"
    if isinstance(root, urllib3.exceptions.NewConnectionError) and "refused" in str(root).lower():
        return "connection refused"
    if isinstance(root, urllib3.exceptions.NewConnectionError):
        return f"connection failed: {str(root).split(': ', 1)[-1]}"
    if isinstance(root, OSError) and root.strerror:
        return f"connection failed: {root.strerror}"
    text = str(root).splitlines()[0] if str(root) else type(root).__name__
    return f"connection failed: {text}"


def _fetch_with_retries(url: str, policy: FetchPolicy, t_end: float, sleep: Callable[[float], None]) -> bytes:
    with _session(policy) as session:
        for attempt in range(policy.retries + 1):
            try:
                return _attempt(session, url, policy, t_end)
            except _Retryable as e:
                last = str(e)
            delay = policy.backoff * (2**attempt)
            if attempt == policy.retries or time.monotonic() + delay >= t_end:
                break
            sleep(delay)
    tries = attempt + 1
    raise FetchError(f"{last} (after {tries} attempt{'s' if tries > 1 else ''})")


def fetch(url: str, policy: FetchPolicy, sleep: Callable[[float], None] = time.sleep) -> bytes:
    """Download `url` within `policy`; raises FetchError with a one-line reason.

    The deadline is checked between reads, but a server can also drip its status line, headers or
    TLS handshake one byte per read timeout; so the download runs in a daemon thread that is
    abandoned (holding at most one socket and `max_bytes`) if it outlives the deadline.
    """
    _check_scheme(url)
    t_end = time.monotonic() + policy.deadline
    outcome: dict[str, object] = {}

    def work() -> None:
        try:
            outcome["data"] = _fetch_with_retries(url, policy, t_end, sleep)
        except Exception as e:  # handed to the caller's thread below
            outcome["error"] = e

    worker = threading.Thread(target=work, name="fetch", daemon=True)
    worker.start()
    worker.join(policy.deadline + DEADLINE_GRACE)
    if worker.is_alive():
        raise FetchError(f"download deadline exceeded ({policy.deadline:g} s)")
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["data"]  # type: ignore[return-value]


def parse_allow_hosts(values: Iterable[str]) -> frozenset[str]:
    """Host names from `--allow-host` values and MRCNN_ALLOW_HOSTS (comma or space separated)."""
    hosts = set()
    for value in values:
        for part in value.replace(",", " ").split():
            hosts.add(part.strip("[]").lower())
    return frozenset(hosts)

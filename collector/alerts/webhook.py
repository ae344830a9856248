"""Signed webhook POSTs: HMAC-SHA256 over the timestamp and the raw body (README, "Alerts").

The receiver recomputes ``v1=`` + hex(HMAC-SHA256(secret, f"{timestamp}." + body)) over
the bytes it received, compares it in constant time with ``X-ChatterTrack-Signature``,
and refuses a timestamp more than five minutes from its clock, so that a captured
request cannot be replayed later.  Any 2xx answer counts as delivered, whatever its
body (a proxy's HTML page included): the receiver took the request.  Redirects are not
followed: a 3xx is a failure, retried like any other.

Only public addresses are POSTed to (README, "Alerts"): a rule's URL naming a loopback,
private, link-local, multicast or reserved address (IPv6 and IPv4-mapped ones included)
is refused when saved, and at each send the host name is resolved, every address it
resolves to is checked, and the connection goes to the checked address (never resolved
again), so a name that changes its answer between the check and the connect (DNS
rebinding) reaches nothing inside.  ``CHATTER_ALERTS_ALLOW_PRIVATE_WEBHOOKS=1`` lifts
this, for a receiver on the same network (and for the tests' local servers).

Each attempt has one deadline for everything (resolving, connecting, sending, the
status line, the headers and the body): the name is resolved in a thread waited on at
most until the deadline (a hanging DNS server fails the attempt, it does not hold it),
and at the deadline the socket is shut, however slowly the receiver trickles its
answer, so an attempt never outlasts its claim (collector/alerts/delivery.py).
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import re
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

SIGNATURE = "X-ChatterTrack-Signature"
TIMESTAMP = "X-ChatterTrack-Timestamp"
DELIVERY = "X-ChatterTrack-Delivery"
EVENT = "X-ChatterTrack-Event"
TOLERANCE = 300  # seconds a receiver should accept between the timestamp and its clock
_READ_AT_MOST = 64 * 1024
USER_AGENT = "ChatterTrack-Alerts/1"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def verify(
    secret: str, timestamp: str, signature: str, body: bytes, now: float, tolerance: int = TOLERANCE
) -> bool:
    """What a receiver does (and the tests do): the signature and a fresh timestamp."""
    try:
        moment = int(timestamp)
    except ValueError:
        return False
    if abs(now - moment) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, moment, body), signature)


IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# Names that mean this machine whatever a resolver says (RFC 6761).
_LOCAL_NAMES = ("localhost", "localhost.localdomain")
_IPV4_SHORTHAND = re.compile("[0-9a-fx.]+")


def address_problem(address: IpAddress) -> str | None:
    """Why a webhook may not go to ``address``; None: a public address."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = address.ipv4_mapped or address.sixtofour
        if inner is not None:
            return address_problem(inner)
        if address.teredo is not None:
            return address_problem(address.teredo[1])
    for problem, found in (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
    ):
        if found:
            return f"a {problem} address ({address})"
    if not address.is_global:  # shared (100.64/10), benchmarking, documentation, ...
        return f"not a public address ({address})"
    return None


def host_problem(host: str) -> str | None:
    """What the host of a URL names that no webhook may reach, without asking DNS: an
    address that is not public, or this machine by name.  None for other names (they
    are checked at each send, against what they resolve to)."""
    name = host.strip("[]").rstrip(".").lower()
    if name in _LOCAL_NAMES or name.endswith(".localhost"):
        return f"this machine ({host})"
    try:
        address: IpAddress = ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        # The shorthand IPv4 forms resolvers take too: 127.1, 2130706433, 0x7f000001.
        if not _IPV4_SHORTHAND.fullmatch(name):
            return None
        try:
            address = ipaddress.IPv4Address(socket.inet_aton(name))
        except OSError:
            return None
    return address_problem(address)


def resolve(host: str, port: int, allow_private: bool) -> tuple[str, IpAddress]:
    """The address to connect to: (family, address) of the first one ``host`` resolves to,
    after every one was checked.  ``RefusedAddress`` when any is not public."""
    name = host.strip("[]")
    if not allow_private:
        problem = host_problem(name)
        if problem is not None:
            raise RefusedAddress(f"the webhook's host is {problem}")
    found = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    if not found:
        raise OSError(f"{host} resolves to no address")
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in found]
    if not allow_private:
        for address in addresses:
            problem = address_problem(address)
            if problem is not None:
                raise RefusedAddress(f"{host} resolves to {problem}")
    return str(found[0][4][0]), addresses[0]


def _resolve_within(
    host: str, port: int, allow_private: bool, seconds: float
) -> tuple[str, IpAddress]:
    """``resolve`` within ``seconds``, or ``TimeoutError``.  getaddrinfo cannot be
    interrupted, so it runs in a daemon thread that is left behind at the deadline (it
    ends when the system's resolver gives up; its answer is dropped)."""
    answer: list[tuple[str, IpAddress] | Exception] = []

    def run() -> None:
        try:
            answer.append(resolve(host, port, allow_private))
        except Exception as exc:  # handed to the caller below
            answer.append(exc)

    thread = threading.Thread(target=run, name="webhook-resolve", daemon=True)
    thread.start()
    thread.join(max(seconds, 0.0))
    if not answer:
        raise TimeoutError(f"the host {host} did not resolve within the deadline")
    found = answer[0]
    if isinstance(found, Exception):
        raise found
    return found


class RefusedAddress(OSError):
    """The webhook's host is, or resolves to, an address that is not public."""


class _Pinned(http.client.HTTPConnection):
    """A connection to an address already resolved and checked; the Host header (and for
    HTTPS, SNI and the certificate's name) stay the URL's host."""

    def __init__(self, host: str, port: int | None, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedTls(_Pinned):
    default_port = http.client.HTTPS_PORT

    def __init__(
        self, host: str, port: int | None, address: str, timeout: float, context: ssl.SSLContext
    ) -> None:
        super().__init__(host, port, address, timeout)
        self.context = context

    def connect(self) -> None:
        super().connect()
        self.sock = self.context.wrap_socket(self.sock, server_hostname=self.host)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None = None
    error: str | None = None
    # A failure no retry can mend (e-mail with no SMTP configured): given up at once.
    final: bool = False


def post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    timeout: float,
    context: ssl.SSLContext | None = None,
    *,
    allow_private: bool = False,
) -> Outcome:
    """POST ``body`` to ``url`` once, all of it within ``timeout`` seconds (the module's
    docstring); never raises for a network or HTTP failure or a refused address."""
    deadline = time.monotonic() + timeout
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection: _Pinned | None = None
    timer: threading.Timer | None = None
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        sock = connection.sock if connection is not None else None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    try:
        https = parts.scheme == "https"
        port = parts.port or (443 if https else 80)
        address, _ = _resolve_within(
            parts.hostname or "", port, allow_private, deadline - time.monotonic()
        )
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no time left after resolving the host")
        if https:
            connection = _PinnedTls(
                parts.hostname or "",
                port,
                address,
                left,
                context or ssl.create_default_context(),
            )
        else:
            connection = _Pinned(parts.hostname or "", port, address, left)
        timer = threading.Timer(left, expire)
        timer.daemon = True
        timer.start()
        try:
            connection.request(
                "POST",
                path,
                body=body,
                headers={
                    **headers,
                    "Content-Type": "application/json",
                    "User-Agent": USER_AGENT,
                },
            )
            response = connection.getresponse()
            response.read(_READ_AT_MOST)
        finally:
            timer.cancel()
            connection.close()
        if expired.is_set():
            raise TimeoutError(f"no complete answer within {timeout:g} s")
    except (OSError, http.client.HTTPException, ValueError) as exc:
        if expired.is_set() and not isinstance(exc, TimeoutError):
            exc = TimeoutError(f"no complete answer within {timeout:g} s")
        return Outcome(False, None, f"{type(exc).__name__}: {exc}"[:500])
    if 200 <= response.status < 300:
        return Outcome(True, response.status)
    return Outcome(False, response.status, f"HTTP {response.status} {response.reason}"[:500])

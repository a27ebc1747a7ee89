"""Which addresses a network source may connect to: public ones, or hosts the user allows.

A source names its server (a Mastodon instance, a Bluesky AppView), so whoever writes a
source spec, or a server that redirects, could point a nightly run at the user's own
network: a router's admin page, a database on localhost, the cloud metadata service
that hands out credentials. So a host is resolved and refused when ANY of its addresses
is not public: loopback, private, link-local, shared (CGNAT), multicast, reserved,
unspecified, or a cloud metadata address (169.254.169.254, fd00:ec2::254, Alibaba's
100.100.100.200, Azure's 168.63.129.16, Oracle's 192.0.0.192). IPv4 addresses carried
inside IPv6 (`::ffff:127.0.0.1`, 6to4, Teredo, NAT64) are judged by the IPv4 address.

`TWEETBOTS_ALLOWED_HOSTS` opts in a self-hosted server: comma-separated host names or IP
addresses, each optionally with `:port` (then only that port), e.g.
`mastodon.home.lan,10.0.0.5:3000,[fd12::7]`. A host is allowed by the name it is reached
by, never by what it resolves to: allowing `127.0.0.1` does not allow a stranger's
domain that resolves to 127.0.0.1.

`tweetbots.sources.client` checks at connection time and connects to the very addresses
it checked, so a name that resolves to a public address for the check and to a private
one a moment later (DNS rebinding) cannot slip through.
"""

import ipaddress
import os
import re
import socket
from urllib.parse import urlsplit

from tweetbots.sources import SourceError

ALLOWED_HOSTS_ENV = "TWEETBOTS_ALLOWED_HOSTS"
# Cloud metadata services (AWS IPv4 and IPv6, Alibaba, Azure, Oracle): most are caught as
# link-local or private anyway, Azure's is a public address.
_METADATA = {
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "168.63.129.16", "192.0.0.192")
}
_KINDS = (  # the first that applies names the address: 127.0.0.1 is private too
    ("is_loopback", "a loopback address"),
    ("is_link_local", "a link-local address"),
    ("is_unspecified", "an unspecified address"),
    ("is_multicast", "a multicast address"),
    ("is_reserved", "a reserved address"),
    ("is_private", "a private address"),
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_HOST = re.compile(r"^[a-z0-9_.:-]+$")  # a canonical name (ASCII) or IP address
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class HostNotAllowed(SourceError):
    """A non-public address the user did not allow, or an unreadable allow-list.

    Raised while connecting, where the source is unknown: `client.polite_get` adds it.
    """


def is_allowed(host: str, port: int) -> bool:
    """Whether the user listed this host (the name as given, or the IP literal) for this port."""
    wanted = _canonical(host)
    return any(name == wanted and allowed in (None, port) for name, allowed in allowed_hosts())


def allowed_hosts() -> list[tuple[str, int | None]]:
    """TWEETBOTS_ALLOWED_HOSTS as (canonical host, port or None for any port)."""
    entries = [e.strip() for e in os.environ.get(ALLOWED_HOSTS_ENV, "").split(",")]
    return [_parse_entry(entry) for entry in entries if entry]


def public_addresses(host: str, port: int) -> list[str]:
    """The host's addresses, every one of them public; HostNotAllowed if any is not.

    A name that does not resolve raises OSError (socket.gaierror), for the caller to
    treat like any connection failure.
    """
    answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(str(answer[4][0]) for answer in answers))
    for address in addresses:
        reason = non_public_reason(ipaddress.ip_address(address.partition("%")[0]))
        if reason:
            resolved = "" if address == host else f" resolves to {address}, which"
            raise HostNotAllowed(
                f"refused to connect to {host}: it{resolved} is {reason}, not a public "
                f"server; to read a server of your own, add {host} to {ALLOWED_HOSTS_ENV}"
            )
    return addresses


def non_public_reason(ip: IPAddress) -> str | None:
    """What makes an address non-public (e.g. 'a loopback address'), or None if public."""
    ip = _embedded_ipv4(ip) or ip
    if ip in _METADATA:
        return "a cloud metadata address"
    for kind, words in _KINDS:
        if getattr(ip, kind):
            return words
    return None if ip.is_global else "a non-global (e.g. shared or CGNAT) address"


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, Teredo, NAT64), if any."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    # Teredo's client address: where the tunnel delivers.
    return ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)


def _parse_entry(entry: str) -> tuple[str, int | None]:
    try:
        parts = urlsplit(f"//{entry}")
        host = _canonical(parts.hostname or "")
        if not _HOST.match(host) or parts.path or parts.query or parts.fragment or "@" in entry:
            raise ValueError(entry)
        return host, parts.port
    except (ValueError, UnicodeError):
        raise HostNotAllowed(
            f"{ALLOWED_HOSTS_ENV}: {entry!r} is not a host name or IP address; list hosts "
            "separated by commas, each optionally with :port (e.g. mastodon.home.lan,"
            "10.0.0.5:3000,[fd12::7])"
        ) from None


def _canonical(host: str) -> str:
    """One spelling per host: IP literals normalised, names lower-case ASCII (IDNA)."""
    host = host.strip("[]").lower()
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host if host.isascii() else host.encode("idna").decode("ascii")

"""Where dialtone's own outbound requests (webhooks) may go: public addresses only.

A webhook URL is given by whoever holds the API token; without a check it would let
them make the server POST to its own loopback services, the clinic's private network
or a cloud's metadata endpoint (which hands out credentials). So a URL is refused when
its host is, or resolves to, an address that is not globally routable: loopback,
private, link-local (169.254.169.254 is the metadata address of most clouds), CGNAT,
multicast, reserved, unspecified, IPv4-mapped forms of those, and the metadata host
names. Host spellings that C resolvers also accept are decoded first: `2130706433`,
`0x7f000001`, `0177.0.0.1` and `127.1` are all 127.0.0.1.

The check runs when the URL is given and again at every delivery, on the addresses
resolved for that delivery, and the request is then sent to the address that was
checked (the host name kept for TLS and the Host header), so a name that resolves
to a public address at the first look and to 127.0.0.1 at the second (DNS rebinding)
gets nowhere. A deployer with a receiver on their own network allows it by host name
or network in DIALTONE_WEBHOOK_ALLOW.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
#: host, port -> the addresses it resolves to (empty: it does not resolve)
Resolver = Callable[[str, int], Sequence[str]]

#: Names that are a cloud's metadata service or this machine, whatever they resolve to.
_BLOCKED_NAMES = ("localhost", "metadata.google.internal", "metadata.goog", "instance-data")
_IPV4ISH = re.compile(r"[0-9a-fx.]+", re.IGNORECASE)


class DestinationRefused(Exception):
    """The URL may not be posted to; the message says why, in one line."""


@dataclass(frozen=True, kw_only=True)
class Allowed:
    """What DIALTONE_WEBHOOK_ALLOW lets through despite being private."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = field(default_factory=tuple)

    @classmethod
    def from_setting(cls, text: str) -> Allowed:
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for item in (i.strip().lower() for i in text.split(",")):
            if not item:
                continue
            try:
                networks.append(ipaddress.ip_network(item.strip("[]"), strict=False))
            except ValueError:
                hosts.add(item.rstrip("."))
        return cls(hosts=frozenset(hosts), networks=tuple(networks))

    def covers(self, address: IPAddress) -> bool:
        return any(address.version == n.version and address in n for n in self.networks)


def system_resolver(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return []
    return sorted({str(info[4][0]) for info in infos})


def literal_address(host: str) -> IPAddress | None:
    """The address a host written as an address means, in any spelling a resolver takes."""
    bare = host.strip("[]")
    try:
        return ipaddress.ip_address(bare.split("%")[0])
    except ValueError:
        pass
    if _IPV4ISH.fullmatch(bare) and any(c.isdigit() for c in bare):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(bare))
        except OSError:
            return None
    return None


def why_forbidden(address: IPAddress) -> str | None:
    """Why an address is not a public destination, or None if it is one."""
    mapped = getattr(address, "ipv4_mapped", None) or getattr(address, "sixtofour", None)
    if mapped is not None:
        return why_forbidden(mapped)
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address (cloud metadata lives there)"
    if address.is_private:
        return "a private address"
    if not address.is_global or address.is_multicast:
        return "not a public address"
    return None


def _host_and_port(url: str) -> tuple[str, int]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise DestinationRefused("not a valid URL") from None
    if parts.scheme not in ("http", "https"):
        raise DestinationRefused("must be an http:// or https:// URL")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise DestinationRefused("has no host")
    return host, port or (443 if parts.scheme == "https" else 80)


def check_destination(
    url: str,
    allowed: Allowed,
    *,
    resolver: Resolver = system_resolver,
    must_resolve: bool,
) -> list[IPAddress]:
    """The addresses `url` may be posted to, or DestinationRefused.

    `must_resolve`: at delivery a host that does not resolve is refused (there is
    nowhere checked to send to); when the URL is given it is let through, as DNS may
    be down for a moment, and checked again at delivery.
    """
    host, port = _host_and_port(url)
    if host in allowed.hosts:
        literal = literal_address(host)
        return [literal] if literal else [ipaddress.ip_address(a) for a in resolver(host, port)]
    if host in _BLOCKED_NAMES or host.endswith(".localhost"):
        raise DestinationRefused(f"{host} is this machine or a cloud metadata service")
    literal = literal_address(host)
    addresses = (
        [literal]
        if literal is not None
        else [ipaddress.ip_address(a.split("%")[0]) for a in resolver(host, port)]
    )
    if not addresses:
        if must_resolve:
            raise DestinationRefused(f"{host} does not resolve")
        return []
    for address in addresses:
        reason = why_forbidden(address)
        if reason is not None and not allowed.covers(address):
            what = f"{address} is" if literal is not None else f"{host} resolves to {address},"
            raise DestinationRefused(
                f"{what} {reason}; a receiver on your own network must be allowed in "
                "DIALTONE_WEBHOOK_ALLOW"
            )
    return addresses


def pinned(url: str, address: IPAddress) -> tuple[str, str, str]:
    """`url` with its host replaced by the checked `address`, the Host header value that
    keeps the request meaning the same site, and the name TLS must verify."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    shown = f"[{address}]" if address.version == 6 else str(address)
    netloc = shown if parts.port is None else f"{shown}:{parts.port}"
    if parts.username is not None or parts.password is not None:
        userinfo = parts.netloc.rsplit("@", 1)[0]
        netloc = f"{userinfo}@{netloc}"
    original = parts.netloc.rsplit("@", 1)[-1]
    return parts._replace(netloc=netloc).geturl(), original, host

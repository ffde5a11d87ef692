"""Which addresses the crawler may connect to: the defence against being turned on our network.

A host is resolved once, every answer is checked, and the connection then goes to a checked
address (see ``fetch.py``), so a second, different DNS answer (rebinding) is never used.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable, Mapping

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Resolves a host name to address strings; injectable so tests control what DNS "answers".
Resolver = Callable[[str, int], Awaitable[list[str]]]

# Instance-metadata endpoints hand out cloud credentials: refused even where a source
# allowlists the surrounding network.
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, Oracle, DigitalOcean
        "169.254.170.2",  # AWS ECS task metadata / credentials
        "169.254.169.123",  # AWS time sync
        "169.254.169.253",  # AWS VPC DNS
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "fd00:ec2::253",
        "100.100.100.200",  # Alibaba Cloud
        "168.63.129.16",  # Azure wire server
        "192.0.0.192",  # Oracle Cloud (classic)
    )
)


# Every reason ``refusal`` can give: a host refused for its address, not for a failure.
REFUSAL_REASONS: frozenset[str] = frozenset({
    "metadata_address", "loopback_address", "link_local_address", "multicast_address",
    "unspecified_address", "private_address",
})


class UnsafeAddress(Exception):
    """The host resolves to an address the crawler must not reach; ``reason`` is the count key."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def _plain(ip: IPAddress) -> IPAddress:
    # ::ffff:169.254.169.254 reaches the IPv4 address: judge it as that address.
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None and not ip.sixtofour.is_global:
            return ip.sixtofour
    return ip


def refusal(ip: IPAddress, allow: Iterable[IPNetwork] = ()) -> str | None:
    """Why ``ip`` is refused (a count key), or None when the crawler may connect to it."""
    ip = _plain(ip)
    if ip in METADATA_ADDRESSES:
        return "metadata_address"
    if any(ip in net for net in allow if net.version == ip.version):
        return None
    if ip.is_loopback:
        return "loopback_address"
    if ip.is_link_local:
        return "link_local_address"
    if ip.is_multicast:
        return "multicast_address"
    if ip.is_unspecified:
        return "unspecified_address"
    if ip.is_private or ip.is_reserved or not ip.is_global:
        return "private_address"
    return None


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    seen: dict[str, None] = {}
    for _family, _type, _proto, _canon, sockaddr in infos:
        seen[str(sockaddr[0]).split("%", 1)[0]] = None
    return list(seen)


def static_resolver(table: Mapping[str, list[str]], fallback: Resolver) -> Resolver:
    """Answers names in ``table`` from it, anything else from ``fallback``."""
    fixed = {k.lower(): list(v) for k, v in table.items()}

    async def resolve(host: str, port: int) -> list[str]:
        found = fixed.get(host.lower())
        return list(found) if found is not None else await fallback(host, port)

    return resolve


async def vetted_addresses(
    host: str, port: int, resolver: Resolver, allow: Iterable[IPNetwork] = ()
) -> list[IPAddress]:
    """Resolve ``host`` once and return its addresses if EVERY one is allowed.

    One bad answer refuses the host: a resolver that mixes a public and a private address
    is exactly how rebinding attacks pick which one a client ends up using.
    """
    allow = list(allow)
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
        answers: list[str] = [str(literal)]
    except ValueError:
        try:
            answers = await resolver(host, port)
        except (OSError, UnicodeError) as exc:
            raise UnsafeAddress("dns_error", f"{host}: {exc}") from None
    if not answers:
        raise UnsafeAddress("dns_error", f"{host}: no address")
    addresses: list[IPAddress] = []
    for a in answers:
        try:
            ip = ipaddress.ip_address(a.split("%", 1)[0])
        except ValueError:
            raise UnsafeAddress("dns_error", f"{host}: bad address {a!r}") from None
        why = refusal(ip, allow)
        if why:
            raise UnsafeAddress(why, f"{host} -> {ip}")
        addresses.append(ip)
    return addresses

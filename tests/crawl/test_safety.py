from __future__ import annotations

import asyncio
import ipaddress

import pytest

from chalicelib.crawl.safety import UnsafeAddress, refusal, static_resolver, vetted_addresses

ip = ipaddress.ip_address
net = ipaddress.ip_network


@pytest.mark.parametrize(("address", "reason"), [
    ("127.0.0.1", "loopback_address"),
    ("127.9.9.9", "loopback_address"),
    ("::1", "loopback_address"),
    ("10.1.2.3", "private_address"),
    ("172.16.0.1", "private_address"),
    ("192.168.1.1", "private_address"),
    ("100.64.0.1", "private_address"),  # carrier-grade NAT
    ("fc00::1", "private_address"),
    ("169.254.1.1", "link_local_address"),
    ("fe80::1", "link_local_address"),
    ("224.0.0.1", "multicast_address"),
    ("ff02::1", "multicast_address"),
    ("0.0.0.0", "unspecified_address"),
    ("169.254.169.254", "metadata_address"),
    ("fd00:ec2::254", "metadata_address"),
    ("100.100.100.200", "metadata_address"),
    ("::ffff:169.254.169.254", "metadata_address"),  # IPv4-mapped IPv6
    ("::ffff:10.0.0.1", "private_address"),
    ("240.0.0.1", "private_address"),  # reserved
    ("93.184.215.14", None),
    ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", None),
])
def test_refusal(address: str, reason: str | None) -> None:
    assert refusal(ip(address)) == reason


def test_allowlist_opens_only_its_networks_and_never_metadata() -> None:
    allow = [net("127.0.0.2/32"), net("169.254.0.0/16")]
    assert refusal(ip("127.0.0.2"), allow) is None
    assert refusal(ip("127.0.0.3"), allow) == "loopback_address"
    assert refusal(ip("169.254.1.1"), allow) is None
    assert refusal(ip("169.254.169.254"), allow) == "metadata_address"


def _resolver(answers: list[list[str]]):
    calls: list[str] = []

    async def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        return answers[min(len(calls) - 1, len(answers) - 1)]

    return resolve, calls


def test_every_answer_is_checked() -> None:
    resolve, _ = _resolver([["93.184.215.14", "10.0.0.7"]])
    with pytest.raises(UnsafeAddress) as e:
        asyncio.run(vetted_addresses("news.test", 80, resolve))
    assert e.value.reason == "private_address"


def test_public_answer_passes_and_literal_skips_dns() -> None:
    resolve, calls = _resolver([["93.184.215.14"]])
    assert asyncio.run(vetted_addresses("news.test", 80, resolve)) == [ip("93.184.215.14")]
    assert asyncio.run(vetted_addresses("[::1]", 80, resolve, [net("::1/128")])) == [ip("::1")]
    assert calls == ["news.test"]


def test_dns_failure_and_empty_answer_are_counted() -> None:
    async def broken(host: str, port: int) -> list[str]:
        raise OSError("no such host")

    for res in (broken, _resolver([[]])[0], _resolver([["not-an-ip"]])[0]):
        with pytest.raises(UnsafeAddress) as e:
            asyncio.run(vetted_addresses("news.test", 80, res))
        assert e.value.reason == "dns_error"


def test_static_hosts_answer_first_and_are_still_vetted() -> None:
    fallback, calls = _resolver([["93.184.215.14"]])
    res = static_resolver({"Demo.Example": ["127.0.0.5"]}, fallback)
    with pytest.raises(UnsafeAddress):
        asyncio.run(vetted_addresses("demo.example", 80, res))
    assert asyncio.run(vetted_addresses("demo.example", 80, res, [net("127.0.0.5/32")])) == [
        ip("127.0.0.5")]
    assert asyncio.run(vetted_addresses("other.test", 80, res)) == [ip("93.184.215.14")]
    assert calls == ["other.test"]


def test_the_loopback_guard_of_these_tests_holds() -> None:
    import socket

    with socket.socket() as s, pytest.raises(AssertionError):
        s.connect(("10.255.255.1", 80))
    with pytest.raises(OSError):
        socket.getaddrinfo("example.com", 80)

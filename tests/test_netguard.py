"""Webhook destinations: private, loopback, link-local and metadata hosts are refused in
every spelling, unless a deployer allowed them."""

from __future__ import annotations

import pytest

from dialtone.config import ConfigError, load_settings
from dialtone.netguard import Allowed, DestinationRefused, check_destination, pinned

REFUSED = [
    "http://127.0.0.1/hook",
    "http://127.0.0.1:8080/hook",
    "http://[::1]/hook",
    "http://2130706433/hook",
    "http://0x7f000001/hook",
    "http://0177.0.0.1/hook",
    "http://127.1/hook",
    "http://10.0.0.5/hook",
    "http://192.168.1.20/hook",
    "http://172.16.3.4/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fe80::1]/hook",
    "http://[fd00:ec2::254]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://100.64.0.1/hook",
    "http://0.0.0.0/hook",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://localhost/hook",
    "http://api.localhost/hook",
]


def no_dns(_host: str, _port: int) -> list[str]:
    return []


@pytest.mark.parametrize("url", REFUSED)
def test_private_destinations_are_refused(url: str) -> None:
    with pytest.raises(DestinationRefused):
        check_destination(url, Allowed(), resolver=no_dns, must_resolve=False)


def test_a_name_that_resolves_to_a_private_address_is_refused() -> None:
    def resolver(_host: str, _port: int) -> list[str]:
        return ["93.184.215.14", "10.1.2.3"]  # one bad answer is enough

    with pytest.raises(DestinationRefused, match=r"hooks\.clinic\.test resolves to 10\.1\.2\.3"):
        check_destination(
            "https://hooks.clinic.test/x", Allowed(), resolver=resolver, must_resolve=True
        )


def test_public_destinations_pass_and_unresolved_ones_wait_for_delivery() -> None:
    public = check_destination("https://8.8.8.8/x", Allowed(), resolver=no_dns, must_resolve=True)
    assert [str(a) for a in public] == ["8.8.8.8"]
    assert (
        check_destination("https://crm.example/x", Allowed(), resolver=no_dns, must_resolve=False)
        == []
    )
    with pytest.raises(DestinationRefused, match="does not resolve"):
        check_destination("https://crm.example/x", Allowed(), resolver=no_dns, must_resolve=True)


def test_a_deployer_allows_a_named_host_or_a_network() -> None:
    allowed = Allowed.from_setting("hooks.clinic.internal, 10.0.5.0/24")

    def resolver(host: str, _port: int) -> list[str]:
        return {"hooks.clinic.internal": ["10.9.9.9"], "other.clinic.internal": ["10.9.9.8"]}[host]

    assert check_destination("http://10.0.5.7/x", allowed, resolver=no_dns, must_resolve=True)
    assert check_destination(
        "http://hooks.clinic.internal/x", allowed, resolver=resolver, must_resolve=True
    )
    for url in ("http://10.0.6.7/x", "http://other.clinic.internal/x", "http://127.0.0.1/x"):
        with pytest.raises(DestinationRefused):
            check_destination(url, allowed, resolver=resolver, must_resolve=True)


def test_the_request_goes_to_the_checked_address() -> None:
    import ipaddress

    url, host, name = pinned(
        "https://hooks.example:8443/a?b=1", ipaddress.ip_address("93.184.215.14")
    )
    assert (url, host, name) == (
        "https://93.184.215.14:8443/a?b=1",
        "hooks.example:8443",
        "hooks.example",
    )
    url, host, _ = pinned("http://hooks.example/a", ipaddress.ip_address("2001:db8::1"))
    assert (url, host) == ("http://[2001:db8::1]/a", "hooks.example")


def test_a_bad_allow_setting_is_one_line() -> None:
    with pytest.raises(ConfigError, match="DIALTONE_WEBHOOK_ALLOW"):
        load_settings(webhook_allow="10.0.0.0/99")

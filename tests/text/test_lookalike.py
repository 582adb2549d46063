"""Look-alike hosts in e-mail addresses and URLs: punycode and mixed scripts are named, plain hosts are not."""

from __future__ import annotations

from server.text import lookalike_hosts


def test_a_mixed_script_email_domain_is_named_with_what_it_passes_for() -> None:
    [found] = lookalike_hosts("Please pay to billing@p\u0430ypal.com today")
    assert found.host == "p\u0430ypal.com"
    assert found.reads_as == "paypal.com"
    assert "mixed scripts" in found.reason


def test_a_punycode_url_host_is_decoded_and_named() -> None:
    [found] = lookalike_hosts("see https://xn--pypal-4ve.com/login")
    assert found.host == "xn--pypal-4ve.com"
    assert found.reads_as == "paypal.com"
    assert "punycode" in found.reason


def test_a_whole_script_look_alike_is_named() -> None:
    [found] = lookalike_hosts("https://\u0430\u0440\u0440\u04cf\u0435.com")  # Cyrillic "аррӏе"
    assert found.reads_as == "apple.com"


def test_a_url_with_credentials_and_port_is_judged_by_its_host() -> None:
    [found] = lookalike_hosts("https://user:pw@g\u043e\u043egle.com:8443/x")
    assert found.host == "g\u043e\u043egle.com"


def test_plain_and_single_script_international_hosts_pass() -> None:
    assert lookalike_hosts("mail ops@example.com or https://shop.example.org/a?b=c and https://日本.jp") == []

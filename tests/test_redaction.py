"""Secret redaction: known values from the environment and recognisable patterns."""

from __future__ import annotations

import pytest

from tradeexecutor.config.redaction import SecretRedactor, secret_parts_of_url

PRIVATE_KEY = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
INFURA_KEY = "9aa3d95b3bc440fa88ea12eaa4456161"
TX_HASH = "0x" + "ab12" * 16


@pytest.fixture()
def redactor() -> SecretRedactor:
    r = SecretRedactor()
    names = r.register_environment(
        {
            "PRIVATE_KEY": "0x" + PRIVATE_KEY,
            "JSON_RPC_ETHEREUM": f"https://mainnet.infura.io/v3/{INFURA_KEY} https://eth.llamarpc.com",
            "JSON_RPC_POLYGON": "https://polygon-rpc.com",
            "ETHERSCAN_API_KEY": "ETHERSCANKEY77",
            "HTTP_PASSWORD": "correct horse",
            "DASHBOARD_DB_URL": "postgresql://bob:dbpa55@db.internal/users",
            "DISCORD_TRADES_WEBHOOK_URL": "https://discord.com/api/webhooks/1/tok",
            "RESERVE_TOKEN": "USDC.e-token",
            "HOME": "/root",
        }
    )
    assert names == [
        "DASHBOARD_DB_URL",
        "DISCORD_TRADES_WEBHOOK_URL",
        "ETHERSCAN_API_KEY",
        "HTTP_PASSWORD",
        "JSON_RPC_ETHEREUM",
        "PRIVATE_KEY",
    ]
    return r


@pytest.mark.parametrize(
    "text, secret",
    [
        (f"signing with {PRIVATE_KEY}", PRIVATE_KEY),
        (f"key 0x{PRIVATE_KEY.upper()}", PRIVATE_KEY.upper()),
        (f"rpc https://mainnet.infura.io/v3/{INFURA_KEY} timed out", INFURA_KEY),
        ("GET https://api.etherscan.io/api?module=account&apikey=ETHERSCANKEY77", "ETHERSCANKEY77"),
        ("login with correct horse failed", "correct horse"),
        ("cannot reach postgresql://bob:dbpa55@db.internal/users", "dbpa55"),
        ("posting to https://discord.com/api/webhooks/1/tok", "webhooks/1/tok"),
        ("posting to https://discordapp.com/api/webhooks/999/Zz-unknown_token", "Zz-unknown_token"),
        ("https://alice:s3cr3tpw@rpc.example.com/x", "s3cr3tpw"),
        ("https://eth-mainnet.g.alchemy.com/v2/Ab12Cd34Ef56Gh78Ij90Kl", "Ab12Cd34Ef56Gh78Ij90Kl"),
        ("https://x.io/rpc?token=tok3n-value&chain=1", "tok3n-value"),
        ('{"password": "pa55word!", "user": "bob"}', "pa55word!"),
        ("api_key=unknownkey123", "unknownkey123"),
        (f"private key: 0x{'12' * 32}", "12" * 32),
        (f"unregistered bare key {'cd' * 32}", "cd" * 32),
    ],
)
def test_secret_is_removed(redactor: SecretRedactor, text: str, secret: str) -> None:
    redacted = redactor.redact(text)
    assert secret not in redacted
    assert "***" in redacted


@pytest.mark.parametrize(
    "text",
    [
        f"swap confirmed in {TX_HASH}",
        f"https://etherscan.io/tx/{TX_HASH}",
        "pool 0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48 synced",
        "https://eth.llamarpc.com responded in 30 ms",
        "https://polygon-rpc.com/ ok",
        "reserve token USDC.e-token",  # RESERVE_TOKEN is configuration, not a secret
        "cycle 12 took 3.2 s, 2 trades",
    ],
)
def test_useful_text_is_kept(redactor: SecretRedactor, text: str) -> None:
    assert redactor.redact(text) == text


def test_secret_parts_of_public_url_is_empty() -> None:
    assert secret_parts_of_url("https://eth.llamarpc.com") == []
    parts = secret_parts_of_url(f"https://mainnet.infura.io/v3/{INFURA_KEY}")
    assert INFURA_KEY in parts


def test_redact_data_walks_nested_structures(redactor: SecretRedactor) -> None:
    event = {"exception": {"values": [{"value": f"bad key {PRIVATE_KEY}"}]}, "tags": ("correct horse", 3)}
    out = redactor.redact_data(event)
    assert out == {"exception": {"values": [{"value": "bad key ***"}]}, "tags": ("***", 3)}


def test_short_values_are_not_registered() -> None:
    r = SecretRedactor()
    r.register("abc", "", None)
    assert r.known_count == 0
    assert r.redact("abc abc") == "abc abc"

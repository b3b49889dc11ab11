"""setup_logging: every sink (console, file, ring buffer, Logstash) gets context and no secrets."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from standins import UdpListener, wait_until

from tradeexecutor.config.redaction import SecretRedactor
from tradeexecutor.errors import UserError
from tradeexecutor.reporting.log_context import log_context
from tradeexecutor.reporting.logging_setup import LoggingSetup, parse_level, setup_logging

PRIVATE_KEY = "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
API_KEY = "Zx81Qw72Er63Ty54Ui45"
RPC_URL = f"https://bsc.example-rpc.com/v1/{API_KEY}"
DISCORD = "https://discord.com/api/webhooks/123/DiScOrDtOkEn"
ENV = {
    "PRIVATE_KEY": PRIVATE_KEY,
    "JSON_RPC_BINANCE": RPC_URL,
    "DISCORD_WEBHOOK_URL": DISCORD,
    "HTTP_PASSWORD": "pw-hunter2",
}
SECRETS = (PRIVATE_KEY, API_KEY, "DiScOrDtOkEn", "pw-hunter2")


@pytest.fixture()
def root_restored() -> Iterator[None]:
    root = logging.getLogger()
    level = root.level
    yield
    root.setLevel(level)


def _setup(tmp_path: Path, **kwargs) -> tuple[LoggingSetup, io.StringIO]:
    console = io.StringIO()
    setup = setup_logging(
        "info",
        file_log_level="debug",
        log_file_dir=tmp_path / "logs",
        strategy_id="pancake-sma",
        environ=ENV,
        redactor=SecretRedactor(),
        console_stream=console,
        **kwargs,
    )
    return setup, console


def _log_secrets() -> None:
    log = logging.getLogger("tradeexecutor.test")
    with log_context(cycle=12, trade_id=7):
        log.info("connecting to %s with key %s", RPC_URL, PRIVATE_KEY)
        log.warning("discord at %s failed", DISCORD, extra={"endpoint": DISCORD})
        try:
            raise ConnectionError(f"401 from {RPC_URL} (password pw-hunter2)")
        except ConnectionError:
            log.exception("cycle failed")


def test_every_sink_gets_records_without_secrets(tmp_path: Path, root_restored: None) -> None:
    listener = UdpListener()
    setup, console = _setup(tmp_path, logstash_server=f"127.0.0.1:{listener.port}")
    try:
        _log_secrets()
        assert wait_until(lambda: len(listener.datagrams) >= 3)
        setup.logstash.flush()  # type: ignore[union-attr]
    finally:
        setup.close()
        listener.close()

    file_text = (tmp_path / "logs" / "pancake-sma.log").read_text()
    buffer_text = "\n".join(e["message"] for e in setup.buffer.entries())
    events = listener.events()
    logstash_text = "\n".join(str(e) for e in events)
    sinks = {
        "console": console.getvalue(),
        "file": file_text,
        "ring buffer": buffer_text,
        "logstash": logstash_text,
    }
    for name, text in sinks.items():
        assert "cycle failed" in text, name
        assert "ConnectionError" in text, f"{name} lost the exception"
        for secret in SECRETS:
            assert secret not in text, f"{secret} leaked into {name}"

    # structured context reached every sink
    assert "[cycle 12 trade 7] connecting" in console.getvalue()
    assert "[pancake-sma] [cycle 12 trade 7]" in file_text
    assert all(
        e["cycle"] == 12 and e["trade_id"] == 7 for e in setup.buffer.entries() if "test" in e["logger"]
    )
    failed = next(e for e in events if e["message"] == "cycle failed")
    assert (
        failed["tags"] == ["pancake-sma"] and failed["strategy_id"] == "pancake-sma" and failed["cycle"] == 12
    )
    assert "ConnectionError" in failed["stack_trace"] and "***" in failed["stack_trace"]
    warning = next(e for e in events if e["level"] == "WARNING" and e["logger_name"] == "tradeexecutor.test")
    assert "DiScOrDtOkEn" not in warning["endpoint"] and "***" in warning["endpoint"]


def test_levels_per_sink(tmp_path: Path, root_restored: None) -> None:
    setup, console = _setup(tmp_path)
    try:
        logging.getLogger("tradeexecutor.test").debug("only in the file")
        logging.getLogger("tradeexecutor.test").info("everywhere")
    finally:
        setup.close()
    assert "only in the file" in (tmp_path / "logs" / "pancake-sma.log").read_text()
    assert "only in the file" not in console.getvalue()
    assert [e["message"] for e in setup.buffer.entries()] == ["everywhere"]
    assert setup.secret_names == sorted(ENV)


def test_reconfiguring_replaces_handlers(tmp_path: Path, root_restored: None) -> None:
    first, _ = _setup(tmp_path)
    second, console = _setup(tmp_path)
    try:
        installed = [h for h in logging.getLogger().handlers if getattr(h, "_tradeexecutor_handler", False)]
        assert len(installed) == 3  # console, buffer, file of the second setup only
        logging.getLogger("x").info("once")
    finally:
        second.close()
    assert console.getvalue().count("once") == 1


def test_unwritable_log_dir_warns_and_goes_on(tmp_path: Path, root_restored: None) -> None:
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("")
    console = io.StringIO()
    setup = setup_logging(
        "info", file_log_level="info", log_file_dir=blocker / "logs", environ={}, console_stream=console
    )
    try:
        logging.getLogger("x").info("still logging")
    finally:
        setup.close()
    assert setup.log_file is None
    assert "Cannot write log files" in console.getvalue() and "--log-file-dir" in console.getvalue()
    assert "still logging" in console.getvalue()


def test_bad_levels_and_addresses_are_user_errors() -> None:
    with pytest.raises(UserError, match="--log-level: use debug, info, warning, error"):
        parse_level("loud", "--log-level")
    assert parse_level("none", "--file-log-level", allow_none=True) is None
    assert parse_level("WARN", "--log-level") == logging.WARNING
    with pytest.raises(UserError, match="--logstash-server"):
        setup_logging("info", logstash_server="host:99999", environ={})


def test_unresolvable_logstash_does_not_block_or_spam(tmp_path: Path, root_restored: None, capsys) -> None:
    setup, console = _setup(tmp_path, logstash_server="logstash.invalid:5959")
    try:
        for i in range(50):
            logging.getLogger("tradeexecutor.test").info("record %d", i)
        handler = setup.logstash
        assert handler is not None
        assert wait_until(lambda: handler.health.failures >= 1)  # type: ignore[attr-defined]
        handler.flush()
    finally:
        setup.close()
    text = console.getvalue()
    assert text.count("logstash reporting failed") == 1
    assert "record 49" in text
    assert "Logging error" not in capsys.readouterr().err


def test_every_other_command_logs_warnings_without_secrets(tmp_path: Path, root_restored: None) -> None:
    """check-wallet, perform-test-trade, repair ...: warnings reach stderr, secrets do not."""
    import subprocess
    import sys

    script = (
        "import logging, sys\n"
        "from tradeexecutor.cli.main import app, run\n"
        "@app.command('noisy')\n"
        "def noisy() -> None:\n"
        "    logging.getLogger('tradeexecutor.test').warning('node https://bsc.example-rpc.com/v1/%s failed', sys.argv[1])\n"
        "run(['noisy'])\n"
    )
    env = {**__import__("os").environ, **ENV}
    result = subprocess.run(
        [sys.executable, "-c", script, API_KEY],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert "WARNING tradeexecutor.test: node " in result.stderr, result.stderr
    assert API_KEY not in result.stderr


def test_json_console_lines_for_container_log_collectors(tmp_path: Path, root_restored: None) -> None:
    import json

    setup, console = _setup(tmp_path, log_format="JSON")
    try:
        _log_secrets()
    finally:
        setup.close()
    events = [json.loads(line) for line in console.getvalue().splitlines()]
    mine = [e for e in events if e["logger"] == "tradeexecutor.test"]
    assert [e["message"].split(" ")[0] for e in mine] == ["connecting", "discord", "cycle"]
    first = mine[0]
    assert first["level"] == "info" and first["strategy_id"] == "pancake-sma"
    assert (first["cycle"], first["trade_id"]) == (12, 7)
    assert first["time"].endswith("Z") and len(first["time"]) == len("2024-05-01T12:00:03.120Z")
    assert "***" in mine[1]["endpoint"] and "ConnectionError" in mine[2]["exception"]
    for secret in SECRETS:
        assert secret not in console.getvalue()
    with pytest.raises(UserError, match="Unknown log format 'xml' for --log-format: use text or json."):
        setup_logging("info", log_format="xml", environ={})


def test_log_format_env_var_makes_other_commands_log_json_to_stderr(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    script = (
        "import logging\n"
        "from tradeexecutor.cli.main import app, run\n"
        "@app.command('noisy')\n"
        "def noisy() -> None:\n"
        "    logging.getLogger('tradeexecutor.test').warning('careful')\n"
        "    print('{\"result\": 1}')\n"
        "run(['noisy'])\n"
    )
    env = {**__import__("os").environ, **ENV, "LOG_FORMAT": "json"}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60
    )
    assert json.loads(result.stdout) == {"result": 1}  # stdout stays the command's own output
    [event] = [json.loads(line) for line in result.stderr.splitlines()]
    assert (event["level"], event["logger"], event["message"]) == ("warning", "tradeexecutor.test", "careful")
    bad = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**env, "LOG_FORMAT": "yaml"},
        cwd=tmp_path,
        timeout=60,
    )
    assert (
        bad.returncode == 1
        and bad.stderr.strip() == "Error: Unknown log format 'yaml' for LOG_FORMAT: use text or json."
    )

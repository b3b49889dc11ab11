"""Docker-style .env parsing and precedence."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradeexecutor.cli.env_files import extract_env_files
from tradeexecutor.config.envfile import EnvFileError, load_env_files, parse_env_file
from tradeexecutor.errors import UserError


def test_parse_values_comments_quotes_and_export(tmp_path: Path) -> None:
    f = tmp_path / "a.env"
    f.write_text('# header\n\nNAME="ETH-USD SMA"\nexport HTTP_ENABLED=true\nURL=http://x/?a=b#c\nEMPTY=\n')
    entries = {e.name: e.value for e in parse_env_file(f)}
    assert entries == {"NAME": "ETH-USD SMA", "HTTP_ENABLED": "true", "URL": "http://x/?a=b#c", "EMPTY": ""}


@pytest.mark.parametrize("line", ["no equals sign", "1BAD=x", "BAD NAME=x", "=value"])
def test_malformed_line_names_file_and_line(tmp_path: Path, line: str) -> None:
    f = tmp_path / "bad.env"
    f.write_text(f"OK=1\n{line}\n")
    with pytest.raises(EnvFileError, match=rf"{f}:2: expected NAME=value"):
        parse_env_file(f)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(EnvFileError, match="does not exist"):
        parse_env_file(tmp_path / "nope.env")


def test_later_files_override_earlier_and_real_environment_wins(tmp_path: Path) -> None:
    public = tmp_path / "public.env"
    secret = tmp_path / "secret.env"
    public.write_text("A=public\nB=public\nC=public\n")
    secret.write_text("B=secret\nC=secret\n")
    environ = {"C": "shell"}
    applied = load_env_files([public, secret], environ)
    assert environ == {"A": "public", "B": "secret", "C": "shell"}
    assert applied == {"A": "public", "B": "secret"}


def test_extract_env_files_anywhere_in_argv() -> None:
    files, rest = extract_env_files(["--env-file", "a.env", "start", "--env-file=b.env", "--id", "x"])
    assert [str(f) for f in files] == ["a.env", "b.env"]
    assert rest == ["start", "--id", "x"]
    with pytest.raises(UserError, match="needs a path"):
        extract_env_files(["hello", "--env-file"])


def test_values_read_as_docker_compose_reads_them_and_literally(tmp_path: Path) -> None:
    """python-dotenv reads a file as `docker compose` does; the literal reading (docker run's) is kept
    beside it for check-config, which refuses values the two read differently."""
    f = tmp_path / "a.env"
    f.write_text("\n\n# blank lines above\nDESC=My strategy #1\nQUOTED='quoted' rest\nKEY='a b'\n")
    entries = {e.name: e for e in parse_env_file(f)}
    assert (entries["DESC"].value, entries["DESC"].literal, entries["DESC"].line) == (
        "My strategy",
        "My strategy #1",
        4,
    )
    assert entries["QUOTED"].value == entries["QUOTED"].literal == "'quoted' rest"
    assert entries["KEY"].value == entries["KEY"].literal == "a b"


@pytest.mark.parametrize(("text", "line"), [("A=1\n\n\nNAME_ONLY\n", 4), ("\n\n=x\n", 3)])
def test_malformed_line_number_counts_blank_lines(tmp_path: Path, text: str, line: int) -> None:
    f = tmp_path / "bad.env"
    f.write_text(text)
    with pytest.raises(EnvFileError, match=rf"{f}:{line}: expected NAME=value"):
        parse_env_file(f)

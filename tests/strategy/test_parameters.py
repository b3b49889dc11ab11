"""Parameters from outside: `--param NAME=VALUE` on backtest and start, checked against PARAMETERS."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from tests.backtest.helpers import STRATEGY_HEADER, cli, hand_files, write
from tradeexecutor.cli.main import run
from tradeexecutor.strategy.loader import load_strategy_module
from tradeexecutor.strategy.parameters import ParameterError, resolve_parameters

DECLARED = {"fast": 12, "ratio": 0.9, "name": "x", "flag": False, "cash": Decimal("1.5"), "pairs": None}


def test_text_values_take_the_type_of_the_default() -> None:
    got = resolve_parameters(
        DECLARED,
        texts=["fast=20", "ratio=1", "name=hello world", "flag=yes", "cash=2.25", "pairs=['WETH-USDC']"],
    )
    assert got == {
        "fast": 20,
        "ratio": 1.0,
        "name": "hello world",
        "flag": True,
        "cash": Decimal("2.25"),
        "pairs": ["WETH-USDC"],
    }
    assert type(got["ratio"]) is float


def test_python_values_are_checked_and_ints_widen_to_float() -> None:
    assert resolve_parameters(DECLARED, values={"ratio": 1, "fast": 3}) == {"ratio": 1.0, "fast": 3}
    with pytest.raises(
        ParameterError, match=r"fast=2.5 is not valid: fast is a whole number \(its default is 12\)"
    ):
        resolve_parameters(DECLARED, values={"fast": 2.5})
    with pytest.raises(ParameterError, match="flag is true or false"):
        resolve_parameters(DECLARED, values={"flag": 1})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "fsat=5",
            "The strategy has no parameter 'fsat'; did you mean 'fast'? It has cash, fast, flag, name, pairs, ratio.",
        ),
        (
            "fast=fast",
            "--param fast='fast' is not valid: fast is a whole number (its default is 12); give e.g. --param fast=12.",
        ),
        ("ratio=nan", "--param ratio='nan' is not valid: ratio is a number"),
        ("fast", "--param 'fast' is not NAME=VALUE; write e.g. --param fast=12."),
    ],
)
def test_bad_overrides_are_one_sentence(text: str, message: str) -> None:
    with pytest.raises(ParameterError) as error:
        resolve_parameters(DECLARED, texts=[text])
    assert str(error.value).startswith(message)


def test_loading_with_overrides_leaves_the_file_alone(tmp_path: Path) -> None:
    path = write(
        tmp_path / "s.py",
        STRATEGY_HEADER + 'PARAMETERS = {"fast": 3}\ndef decide_trades(input):\n    return []\n',
    )
    assert load_strategy_module(path, ["fast=7"]).parameters == {"fast": 7}
    assert load_strategy_module(path).parameters == {"fast": 3}


def invoke(args: list[str], capsys) -> tuple[int, str, str]:
    try:
        run(args)
        code = 0
    except SystemExit as e:
        code = int(e.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


PARAMETRISED = """
PARAMETERS = {"size": 1000, "buy_at": 2}

def decide_trades(input):
    p = input.parameters
    if input.cycle == p["buy_at"]:
        return input.position_manager.open_1x_long(input.universe.get_single_pair(), p["size"])
    return []
"""


def test_backtest_param_changes_what_the_strategy_does(tmp_path: Path, capsys) -> None:
    _, candles = hand_files(tmp_path)
    strategy = write(tmp_path / "p.py", STRATEGY_HEADER + PARAMETRISED)
    common = [
        "backtest",
        "--strategy-file",
        str(strategy),
        "--candle-data",
        str(candles),
        "--backtest-start",
        "2024-01-01",
        "--backtest-end",
        "2024-01-01T10:00",
    ]
    code, out, _ = invoke([*common, "--state-file", str(tmp_path / "a.json")], capsys)
    assert code == 0
    assert re.search(r"Cash left at the end +\$9,000.00", out)
    code, out, _ = invoke(
        [*common, "--param", "size=2500", "--param", "buy_at=3", "--state-file", str(tmp_path / "b.json")],
        capsys,
    )
    assert code == 0
    assert re.search(r"Cash left at the end +\$7,500.00", out)


def test_start_and_backtest_refuse_an_unknown_parameter_in_one_sentence(tmp_path: Path) -> None:
    _, candles = hand_files(tmp_path)
    strategy = write(tmp_path / "p.py", STRATEGY_HEADER + PARAMETRISED)
    for command in (
        [
            "backtest",
            "--candle-data",
            str(candles),
            "--backtest-start",
            "2024-01-01",
            "--backtest-end",
            "2024-01-02",
        ],
        ["start", "--execution-type", "dummy", "--deployment-file", str(tmp_path / "none.json")],
    ):
        result = cli(
            [
                *command,
                "--strategy-file",
                str(strategy),
                "--param",
                "sise=5",
                "--state-file",
                str(tmp_path / "s.json"),
            ]
        )
        assert result.returncode != 0
        assert "has no parameter 'sise'; did you mean 'size'? It has buy_at, size." in result.stderr
        assert "Traceback" not in result.stderr

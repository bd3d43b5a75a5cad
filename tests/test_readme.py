"""The README's promises: its commands exist and are what CI runs; the starter matches the contract."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from grader import contract
from grader.dataset import SCHEMAS
from grader.paths import REFERENCE
from tests.conftest import PROJECT

README = (PROJECT / "README.md").read_text()
STARTER = PROJECT / "starter" / "assignment08"


def quick_start() -> list[str]:
    block = README.split("## Quick start", 1)[1].split("```shell", 1)[1].split("```", 1)[0]
    return [line.split("#")[0].strip() for line in block.strip().splitlines()]


def test_quick_start_is_two_commands_and_ci_runs_the_test_one() -> None:
    assert quick_start() == ["make sample", "make test"]
    ci = (PROJECT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.M), ".ci/run runs the README's test command"
    makefile = (PROJECT / "Makefile").read_text()
    assert re.search(r"^test: .*\n\t\$\(BIN\)/pytest$", makefile, re.M)
    assert re.search(r"^sample: .*\n\t\$\(BIN\)/grader grade solution/assignment08 ", makefile, re.M)


@pytest.mark.parametrize("command", sorted(set(re.findall(r"`grader (\w[\w-]*)", README))))
def test_every_grader_command_in_the_readme_exists(command: str) -> None:
    done = subprocess.run([sys.executable, "-m", "grader", command, "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_every_grader_option_in_the_readme_exists() -> None:
    """Each `grader COMMAND ... --option` the README shows is one COMMAND takes."""
    for command, rest in set(re.findall(r"`grader ((?:gradescope )?[\w-]+)([^`]*)`", README)):
        options = re.findall(r"(--[a-z-]+)", rest)
        if options:
            done = subprocess.run([sys.executable, "-m", "grader", *command.split(), "--help"], capture_output=True, text=True, timeout=60)
            for option in options:
                assert option in done.stdout, f"grader {command} has no {option}"


def _signatures(path: Path) -> dict[str, list[str]]:
    tree = ast.parse(path.read_text())
    return {f.name: [a.arg for a in f.args.args] for f in tree.body if isinstance(f, ast.FunctionDef)}


@pytest.mark.parametrize("name", ["stream_data.py", "stream_queries.py"])
def test_starter_has_the_contracts_functions(name: str) -> None:
    starter, reference = _signatures(STARTER / name), _signatures(REFERENCE / name)
    contract = {"main"} if name == "stream_data.py" else {"read_accelerations", "read_locations", "windowed_speed", "join_streams", "start_queries"}
    for function in contract:
        assert starter[function][:2] == reference[function][:2], function


def test_readme_schemas_are_the_datas() -> None:
    for kind in SCHEMAS:
        listed = README.split(f"- {kind}: `", 1)[1].split("`", 1)[0]
        names = [part.split()[0] for part in listed.replace("\n", " ").split(",")]
        assert names == SCHEMAS[kind].names, kind


def test_the_assignments_parameters_are_the_contracts_everywhere() -> None:
    """The contract (grader/contract.py) is the one place: the reference, the starter and the README agree."""
    tree = ast.parse((REFERENCE / "stream_queries.py").read_text())
    constants = {target.id: node.value.value for node in tree.body if isinstance(node, ast.Assign)
                 and isinstance(node.value, ast.Constant) for target in node.targets if isinstance(target, ast.Name)}
    assert constants["WATERMARK"] == contract.WATERMARK and constants["WINDOW"] == contract.WINDOW
    assert f"{constants['JOIN_BOUND']} AND" in contract.JOIN_CONDITION
    starter = (STARTER / "stream_queries.py").read_text()
    for text in (README, starter):
        assert f"{contract.WINDOW_SECONDS}-second window" in text and f"{contract.WATERMARK_SECONDS}-second watermark" in text
        assert contract.JOIN_CONDITION in text.replace("\n    ", " ").replace("``", "")

"""The reliability suite: fault injection, bad inputs and fuzzing (docs/reliability.md)."""

from __future__ import annotations

from tests.reliability.tally import TALLY, lines


def pytest_terminal_summary(terminalreporter) -> None:
    if TALLY:
        terminalreporter.section("reliability")
        for line in lines():
            terminalreporter.write_line(line)

"""Counts of what the reliability suite did to the workflow, printed after the run.

``docs/reliability.md`` quotes these figures: faults injected (each one survived, or its test
failed) and bad inputs tried (each one gave a valid result or a clear error).
"""

from __future__ import annotations

from collections import Counter

TALLY: Counter[str] = Counter()


def fault(kind: str, count: int = 1) -> None:
    """A fault was injected and the guarantee held afterwards."""
    TALLY[f"fault: {kind}"] += count


def bad_input(kind: str, count: int = 1) -> None:
    """A bad input was fed to a reader and gave a valid result or a one-line error."""
    TALLY[f"input: {kind}"] += count


def lines() -> list[str]:
    faults = sum(n for key, n in TALLY.items() if key.startswith("fault: "))
    inputs = sum(n for key, n in TALLY.items() if key.startswith("input: "))
    out = [f"{faults} faults injected and survived, {inputs} bad inputs tried"]
    out += [f"  {key}: {n}" for key, n in sorted(TALLY.items())]
    return out

"""How numbers, percentages and durations are written, in the report, the check and messages.

Every function takes what may come out of a comparison file (a float, NaN, None) and returns
text; a value that is not a finite number is written as ``—`` (or ``n/a`` where it says so).
"""

from __future__ import annotations

import math
from typing import Any

MISSING = "—"
DURATION_UNITS = (("s", 1e9), ("ms", 1e6), ("µs", 1e3))


def is_finite_number(value: Any) -> bool:
    """A real number that is not NaN or infinite (cells of a comparison may hold None)."""
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def as_float(value: Any) -> float:
    """``value`` as a float, NaN when it is not a number."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def duration_ns(ns: Any) -> str:
    """A duration given in nanoseconds, in the largest unit that keeps it >= 1 (3 digits)."""
    if not is_finite_number(ns):
        return MISSING
    for unit, scale in DURATION_UNITS:
        if abs(ns) >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def rate(value: Any) -> str:
    """Operations per second: thousands separated, whole numbers from 100 up."""
    if not is_finite_number(value):
        return MISSING
    return f"{value:,.0f} ops/s" if value >= 100 else f"{value:.3g} ops/s"


def megabytes(value: Any) -> str:
    return f"{value:.2f} MB" if is_finite_number(value) else MISSING


def percent(ratio: Any) -> str:
    """A ratio (0.05) as a percentage with two decimals (5.00 %)."""
    return f"{ratio * 100:.2f} %" if is_finite_number(ratio) else MISSING


def count(value: Any) -> str:
    return f"{int(value):,}" if is_finite_number(value) else MISSING


def number(value: Any) -> str:
    return f"{value:.4g}" if is_finite_number(value) else MISSING


def setting_pct(ratio: float) -> str:
    """A threshold or confidence as a percentage, without trailing zeros (5 %, 2.5 %, 99 %)."""
    return f"{ratio * 100:.4g} %"


def signed_pct(ratio: float, digits: int = 1) -> str:
    """A relative change as a signed percentage: +3.2 %, -0.5 %; ``n/a`` when unknown."""
    return f"{ratio * 100:+.{digits}f} %" if is_finite_number(ratio) else "n/a"


def signed_points(ratio: float) -> str:
    """An absolute change of a ratio in percentage points: +1.0 pp."""
    return f"{ratio * 100:+.1f} pp" if is_finite_number(ratio) else "n/a"


def change_with_interval(change: Any, low: Any = math.nan, high: Any = math.nan) -> str:
    """``+3.2 % (+1.0…+5.1)``: a relative change and, when known, its interval."""
    if not is_finite_number(change):
        return MISSING
    text = f"{change * 100:+.1f} %"
    if is_finite_number(low) and is_finite_number(high):
        text += f" ({low * 100:+.1f}…{high * 100:+.1f})"
    return text


def interval_pct(low: float, high: float) -> str:
    """``+1.0 %…+5.1 %``: the bounds of an interval of relative changes."""
    return f"{signed_pct(low)}…{signed_pct(high)}"


def relative_change(baseline: Any, current: Any) -> float:
    """current / baseline - 1, NaN when either is unknown or the baseline is 0."""
    if not (is_finite_number(baseline) and is_finite_number(current)) or float(baseline) == 0:
        return math.nan
    return float(current) / float(baseline) - 1.0


def plural(count_: int, one: str, many: str) -> str:
    """``3 regressions``; the empty string for none."""
    if not count_:
        return ""
    return f"{count_} {one if count_ == 1 else many}"


def one_line(value: Any, limit: int, *, printable: bool = True) -> str:
    """Text from the data as one line of at most ``limit`` characters, cut with ``…``.

    Only a prefix can survive the cut, so a megabyte error message is never split whole.
    ``printable``: other control characters become spaces too.
    """
    raw = str(value)
    head = raw[: 4 * limit]
    if printable:
        head = "".join(c if c.isprintable() else " " for c in head)
    text = " ".join(head.split())
    if len(text) <= limit and len(raw) <= 4 * limit:
        return text
    return text[: limit - 1].rstrip() + "…"


SPARKS = "▁▂▃▄▅▆▇█"
HOLE = "·"


def sparkline(values: list[Any], flat_within: float = 0.005) -> str:
    """One character per value, ▁ for the lowest of them to █ for the highest; ``·`` for a
    value that is missing; all ▄ when they lie within ``flat_within`` of each other."""
    numbers = [as_float(v) for v in values]
    finite = [v for v in numbers if math.isfinite(v)]
    if not finite:
        return HOLE * len(numbers)
    low, high = min(finite), max(finite)
    flat = low <= 0 or high / low - 1 < flat_within
    top = len(SPARKS) - 1
    return "".join(
        HOLE
        if not math.isfinite(v)
        else SPARKS[top // 2]
        if flat
        else SPARKS[round((v - low) / (high - low) * top)]
        for v in numbers
    )


def pvalue(p: Any) -> str:
    """A p-value: two significant digits, and a floor below which digits mean nothing."""
    if not is_finite_number(p):
        return MISSING
    return "p < 1e-12" if float(p) < 1e-12 else f"p = {float(p):.2g}"

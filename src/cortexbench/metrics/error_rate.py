"""The share of operations that raised or returned an invalid output."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cortexbench import formatting as fmt
from cortexbench.metrics.base import AbsoluteChange, Budget, Metric

if TYPE_CHECKING:  # pandas is imported where frames are made, not to import this
    import pandas as pd


def failed_share(samples: pd.DataFrame, meta: Mapping[str, Any]) -> float:
    """Failed ops / all ops (a sample of an inner loop counts its loops); 1 with no ops."""
    ops = samples["inner_loops"].to_numpy(dtype="int64")
    ok = samples["ok"].to_numpy(dtype=bool)
    total = int(ops.sum())
    return int(ops[~ok].sum()) / total if total else 1.0


ERROR_RATE = Metric(
    name="error_rate",
    unit="ratio",
    label="error rate",
    format=fmt.percent,
    rule=AbsoluteChange(subject="error rate", missing="no error rate on one side"),
    budget=Budget("max_error_rate", 1.0, "max", show=lambda ratio: f"{ratio * 100:.3g} %"),
    gates=True,
    summary_column="error_rate",
    summarize=failed_share,
    setting="error_rate_tolerance",
)

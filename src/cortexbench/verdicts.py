"""The verdicts a comparison gives, most severe first, with what each means for the gate."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

# How the check's last line starts when it fails (the workflow looks for it in check.txt).
CHECK_FAILED = "check failed"


class Verdict(StrEnum):
    """One metric's (or one benchmark's) verdict; members are declared most severe first."""

    BROKEN = "broken"
    REGRESSED = "regressed"
    MISSING = "missing"
    INCONCLUSIVE = "inconclusive"
    NEW = "new"
    IMPROVED = "improved"
    UNCHANGED = "unchanged"
    INFO = "info"  # a metric that is shown and never judged
    UNAVAILABLE = "unavailable"  # a metric that could not be measured: its gate did not run

    @property
    def severity(self) -> int:
        """0 for the most severe; a benchmark's verdict is the most severe of its metrics'."""
        return _ORDER.index(self)

    @property
    def emoji(self) -> str:
        return _EMOJI[self]

    @property
    def can_fail(self) -> bool:
        """Whether ``check`` can fail on it (``check.fail_on`` chooses which of these do)."""
        return self in (Verdict.BROKEN, Verdict.REGRESSED)

    @property
    def is_change(self) -> bool:
        """A change in either direction, which an A/B measures again to confirm."""
        return self in (Verdict.REGRESSED, Verdict.IMPROVED)

    def label(self) -> str:
        """``❌ regressed``: how a table cell shows it."""
        return f"{self.emoji} {self.value}"

    @property
    def judged(self) -> bool:
        """Whether it is a judgement of a change (the benchmark's verdict takes it into account)."""
        return self not in (Verdict.INFO, Verdict.UNAVAILABLE)

    @classmethod
    def most_severe(cls, verdicts: Iterable[Verdict]) -> Verdict:
        """The most severe of ``verdicts``; ``unchanged`` when there are none."""
        return min(verdicts, key=lambda v: v.severity, default=cls.UNCHANGED)


_ORDER = tuple(Verdict)
_EMOJI = {
    Verdict.BROKEN: "💥",
    Verdict.REGRESSED: "❌",
    Verdict.MISSING: "👻",
    Verdict.INCONCLUSIVE: "❔",
    Verdict.NEW: "🆕",
    Verdict.IMPROVED: "🚀",
    Verdict.UNCHANGED: "✅",
    Verdict.INFO: "ℹ️",
    Verdict.UNAVAILABLE: "🚫",
}

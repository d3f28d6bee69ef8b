"""How long a credential has left, judged the same way by every check: expired, expiring within
`expiry_warning_days` (a warning with the component's own code and renewal step), or fine.
Time comes from the context, so tests can move it."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aisg_check.context import Context


class Verdict(str, enum.Enum):
    EXPIRED = "expired"
    SOON = "soon"  # within expiry_warning_days
    VALID = "valid"
    NEVER = "never"  # no expiry


@dataclass(frozen=True)
class Lifetime:
    verdict: Verdict
    seconds_left: float | None  # negative once expired; None: no expiry

    @property
    def days_left(self) -> int | None:
        return None if self.seconds_left is None else int(self.seconds_left // 86400)

    def phrase(self) -> str:
        """ "expires in 3 days", "expired 2 days ago", "does not expire"."""
        if self.seconds_left is None:
            return "does not expire"
        days = abs(self.seconds_left) / 86400
        hours = round(abs(self.seconds_left) / 3600)
        amount = f"{days:.0f} days" if days >= 2 else ("1 hour" if hours == 1 else f"{hours} hours")
        return f"expired {amount} ago" if self.seconds_left < 0 else f"expires in {amount}"


def judge(ctx: Context, expires_at: datetime | None) -> Lifetime:
    if expires_at is None:
        return Lifetime(Verdict.NEVER, None)
    if expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=timezone.utc)
    left = (expires_at - ctx.now()).total_seconds()
    if left <= 0:
        return Lifetime(Verdict.EXPIRED, left)
    if left <= ctx.settings.expiry_warning_days * 86400:
        return Lifetime(Verdict.SOON, left)
    return Lifetime(Verdict.VALID, left)

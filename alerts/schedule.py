"""Alert schedules: `instant`, `daily HH:MM`, `weekly DAY HH:MM`, in a time zone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TZ = "Africa/Casablanca"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
SPEC = re.compile(
    r"^(?:(?P<instant>instant)|daily\s+(?P<dh>\d{1,2}):(?P<dm>\d{2})"
    r"|weekly\s+(?P<day>[a-z]+)\s+(?P<wh>\d{1,2}):(?P<wm>\d{2}))$"
)


class ScheduleError(ValueError):
    """A schedule or time zone veille cannot read."""


@dataclass(frozen=True)
class Schedule:
    """When an alert is delivered: after each crawl (`instant`) or at a local time."""

    spec: str
    tz: str = DEFAULT_TZ
    hour: int = 0
    minute: int = 0
    weekday: int | None = None  # 0 = Monday; None: every day

    @property
    def instant(self) -> bool:
        return self.spec == "instant"

    def cron(self) -> dict[str, object]:
        """APScheduler CronTrigger arguments."""
        fields: dict[str, object] = {"hour": self.hour, "minute": self.minute, "timezone": self.tz}
        if self.weekday is not None:
            fields["day_of_week"] = DAYS[self.weekday]
        return fields

    def last_tick(self, now: datetime) -> datetime:
        """The latest scheduled moment at or before `now`, in UTC (`now` for instant)."""
        if self.instant:
            return now
        local = now.astimezone(ZoneInfo(self.tz))
        tick = local.replace(hour=self.hour, minute=self.minute, second=0, microsecond=0)
        if self.weekday is not None:
            tick -= timedelta(days=(local.weekday() - self.weekday) % 7)
        step = timedelta(days=1 if self.weekday is None else 7)
        while tick > local:
            tick -= step
        return tick.astimezone(UTC)


def parse_schedule(spec: str, tz: str = DEFAULT_TZ) -> Schedule:
    """`instant`, `daily 07:30` or `weekly mon 08:00` (day as mon..sun or in full)."""
    text = " ".join(spec.lower().split())
    m = SPEC.match(text)
    if not m:
        raise ScheduleError(f"{spec!r}: use instant, 'daily HH:MM' or 'weekly DAY HH:MM'")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"{tz!r} is not a time zone (e.g. Africa/Casablanca, UTC)") from None
    if m["instant"]:
        return Schedule("instant", tz)
    hour, minute = int(m["dh"] or m["wh"]), int(m["dm"] or m["wm"])
    if hour > 23 or minute > 59:
        raise ScheduleError(f"{spec!r}: {hour:02d}:{minute:02d} is not a time of day")
    if m["dh"] is not None:
        return Schedule(f"daily {hour:02d}:{minute:02d}", tz, hour, minute)
    day = m["day"][:3]
    if day not in DAYS or not FULL_DAYS[DAYS.index(day)].startswith(m["day"]):
        raise ScheduleError(f"{spec!r}: {m['day']!r} is not a day (mon..sun)")
    return Schedule(f"weekly {day} {hour:02d}:{minute:02d}", tz, hour, minute, DAYS.index(day))

"""How often to poll a source: a pure function of what its last polls found.

`poll_interval` decides; `facts_from` gathers its input from plain rows (storage.polls reads
them); the service (scheduler.py) applies the decision to APScheduler's jobs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from crawler.core.common import as_utc

MIN_INTERVAL = 60  # the shortest interval a sources file accepts
ADAPTIVE_FLOOR = 10 * 60  # a busy source is polled down to this, or its own interval if shorter
ADAPTIVE_CEILING = 6 * 3600  # a quiet source is polled at least this often
BACKOFF_CEILING = 12 * 3600  # a failing source is still polled at least this often
HINT_MAX_FACTOR = 4  # a publisher's hint may stretch the interval this much, no more
BUSY_NEW_PER_POLL = 2  # above this many new items per poll, poll faster
QUIET_STREAK = 3  # after this many empty polls in a row, poll slower
RECENT_POLLS = 6  # how many answered polls the policy looks back on


@dataclass(frozen=True)
class PollFacts:
    """What the last polls of one source found; the input of `poll_interval`."""

    interval: int  # configured interval, seconds
    recent_new: tuple[int, ...] = ()  # new items per answered poll, newest first
    poll_hint: int | None = None  # seconds the publisher suggests (ttl, updatePeriod, max-age)
    retry_after: float | None = None  # seconds until the publisher's Retry-After expires
    failures: int = 0  # consecutive failed polls


@dataclass(frozen=True)
class PollDecision:
    """How long to wait before the next poll, and why."""

    seconds: int
    reason: str


def poll_interval(facts: PollFacts) -> PollDecision:
    """The next interval for a source, from its configured interval and its recent polls.

    - failing: the configured interval doubled per consecutive failure, up to 12 h (a failing
      source is never disabled; it is back at its normal pace as soon as it answers);
    - busy (more than 2 new items per poll on average): faster, down to 10 min, or down to
      the configured interval when that is shorter;
    - quiet (3 or more empty polls in a row): slower, doubling per further empty poll, up to
      6 h (or the configured interval when that is longer);
    - a publisher's poll hint stretches the interval up to 4 times the configured one;
    - an unexpired Retry-After is always waited out (up to 12 h).
    """
    base = max(facts.interval, MIN_INTERVAL)
    if facts.failures > 0:
        ceiling = max(BACKOFF_CEILING, base)
        seconds = min(base * 2 ** min(facts.failures, 16), ceiling)
        reason = f"backing off after {facts.failures} failure(s)"
    else:
        floor, ceiling = min(ADAPTIVE_FLOOR, base), max(ADAPTIVE_CEILING, base)
        polls = facts.recent_new[:RECENT_POLLS]
        mean = sum(polls) / len(polls) if polls else 0.0
        streak = next((i for i, n in enumerate(polls) if n), len(polls))
        if polls and mean > BUSY_NEW_PER_POLL:
            seconds = base * max(0.25, BUSY_NEW_PER_POLL / mean)
            reason = f"busy: {mean:.1f} new per poll"
        elif streak >= QUIET_STREAK:
            seconds = base * 2 ** (streak - QUIET_STREAK + 1)
            reason = f"quiet: {streak} empty polls in a row"
        else:
            seconds, reason = base, "configured interval"
        seconds = min(max(seconds, floor), ceiling)
        if facts.poll_hint and facts.poll_hint > seconds:
            hinted = min(facts.poll_hint, base * HINT_MAX_FACTOR, ceiling)
            if hinted > seconds:
                seconds, reason = hinted, f"publisher asks for {facts.poll_hint}s between polls"
    if facts.retry_after and facts.retry_after > seconds:
        seconds = min(facts.retry_after, max(BACKOFF_CEILING, base))
        reason = f"Retry-After: {round(facts.retry_after)}s"
    return PollDecision(max(MIN_INTERVAL, round(seconds)), reason)


def jitter_for(seconds: float) -> float:
    """Random spread around each fire time, so sources do not all poll at once."""
    return min(seconds * 0.1, 300.0)


def human(seconds: float | None) -> str:
    """3600 -> '1h', 90 -> '1m30s'."""
    if seconds is None:
        return ""
    seconds = round(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    if seconds or not parts:
        parts.append(f"{seconds}s")
    return "".join(parts[:2])


def facts_from(
    name: str,
    interval: int,
    feeds: list[tuple[int | None, int | None, datetime | None]],
    runs: list[tuple[str, list[str] | None, dict[str, dict[str, int]] | None]],
    now: datetime,
) -> PollFacts:
    """The policy's input for one source, from its feeds (consecutive failures, poll hint,
    Retry-After expiry) and the crawl runs that ended, newest first."""
    recent_new: list[int] = []
    failed_runs = 0
    counting_failed = True
    for status, sources, counts in runs:
        if name not in (sources or []):
            continue
        if counting_failed and status == "failed" and not (counts or {}).get(name):
            failed_runs += 1  # the crawl itself died (crash, time limit) before polling
            continue
        counting_failed = False
        c = (counts or {}).get(name) or {}
        if c.get("listings_read", 0) + c.get("listings_unchanged", 0) > 0:
            recent_new.append(int(c.get("new", 0)))
            if len(recent_new) >= RECENT_POLLS:
                break
    # a source fails when every listing of it fails; one dead feed among good ones does not
    feed_failures = min((f[0] or 0 for f in feeds), default=0)
    hints = [f[1] for f in feeds if f[1]]
    retry = [as_utc(f[2]) - now for f in feeds if f[2]]
    retry_after = max((r.total_seconds() for r in retry), default=0.0)
    return PollFacts(
        interval=interval,
        recent_new=tuple(recent_new),
        poll_hint=min(hints) if hints else None,
        retry_after=retry_after if retry_after > 0 else None,
        failures=max(feed_failures, failed_runs),
    )

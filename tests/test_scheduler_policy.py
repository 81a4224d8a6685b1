"""The polling policy of `veille serve`: a pure function of what the last polls found."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from crawler.core.polling import (
    ADAPTIVE_CEILING,
    ADAPTIVE_FLOOR,
    BACKOFF_CEILING,
    MIN_INTERVAL,
    PollFacts,
    human,
    jitter_for,
    poll_interval,
)

HALF_HOUR = 30 * 60


def seconds(**facts: object) -> int:
    return poll_interval(PollFacts(**facts)).seconds


def test_no_history_is_the_configured_interval() -> None:
    assert seconds(interval=HALF_HOUR) == HALF_HOUR
    assert poll_interval(PollFacts(HALF_HOUR)).reason == "configured interval"


def test_a_busy_source_is_polled_more_often_down_to_ten_minutes() -> None:
    assert seconds(interval=HALF_HOUR, recent_new=(4, 4, 4)) == HALF_HOUR // 2
    assert seconds(interval=HALF_HOUR, recent_new=(40, 40)) == ADAPTIVE_FLOOR
    assert "busy" in poll_interval(PollFacts(HALF_HOUR, recent_new=(9, 9))).reason


def test_a_short_configured_interval_is_its_own_floor() -> None:
    assert seconds(interval=60, recent_new=(50, 50, 50)) == 60
    assert seconds(interval=5 * 60, recent_new=(50,)) == 5 * 60


def test_a_normal_pace_keeps_the_configured_interval() -> None:
    assert seconds(interval=HALF_HOUR, recent_new=(1, 0, 2, 1)) == HALF_HOUR
    assert seconds(interval=HALF_HOUR, recent_new=(0, 0, 3)) == HALF_HOUR  # two empty: not yet


def test_a_quiet_source_is_polled_less_often_up_to_six_hours() -> None:
    assert seconds(interval=HALF_HOUR, recent_new=(0, 0, 0)) == 2 * HALF_HOUR
    assert seconds(interval=HALF_HOUR, recent_new=(0, 0, 0, 0, 5)) == 4 * HALF_HOUR
    assert seconds(interval=HALF_HOUR, recent_new=(0,) * 5) == 8 * HALF_HOUR
    assert seconds(interval=HALF_HOUR, recent_new=(0,) * 6) == ADAPTIVE_CEILING
    assert seconds(interval=3 * 3600, recent_new=(0,) * 6) == ADAPTIVE_CEILING
    # a source configured slower than the ceiling keeps its own pace
    assert seconds(interval=86400, recent_new=(0,) * 6) == 86400


def test_only_the_recent_polls_count() -> None:
    old_burst = (0, 0, 0, 0, 0, 0, 99, 99, 99)
    assert seconds(interval=HALF_HOUR, recent_new=old_burst) > HALF_HOUR


def test_a_publisher_hint_stretches_the_interval_within_bounds() -> None:
    assert seconds(interval=HALF_HOUR, poll_hint=3600) == 3600
    assert seconds(interval=HALF_HOUR, poll_hint=60) == HALF_HOUR  # never faster for a hint
    assert seconds(interval=HALF_HOUR, poll_hint=86400) == 4 * HALF_HOUR
    assert seconds(interval=3600, poll_hint=86400) == 4 * 3600
    assert seconds(interval=2 * 3600, poll_hint=86400) == ADAPTIVE_CEILING
    decision = poll_interval(PollFacts(HALF_HOUR, poll_hint=3600))
    assert "publisher" in decision.reason


def test_failures_back_off_exponentially_and_are_capped() -> None:
    assert seconds(interval=HALF_HOUR, failures=1) == 2 * HALF_HOUR
    assert seconds(interval=HALF_HOUR, failures=2) == 4 * HALF_HOUR
    assert seconds(interval=HALF_HOUR, failures=50) == BACKOFF_CEILING
    assert seconds(interval=60, failures=1) == 120
    assert "failure" in poll_interval(PollFacts(HALF_HOUR, failures=3)).reason


def test_a_recovered_source_is_back_at_its_pace_at_once() -> None:
    failing = seconds(interval=HALF_HOUR, failures=4, recent_new=(0, 0))
    recovered = seconds(interval=HALF_HOUR, failures=0, recent_new=(1, 0, 0))
    assert failing > recovered == HALF_HOUR


def test_retry_after_is_waited_out() -> None:
    assert seconds(interval=HALF_HOUR, retry_after=7200) == 7200
    assert seconds(interval=HALF_HOUR, retry_after=10) == HALF_HOUR
    assert seconds(interval=HALF_HOUR, retry_after=10 * 86400) == BACKOFF_CEILING
    assert seconds(interval=HALF_HOUR, failures=1, retry_after=3 * 3600) == 3 * 3600
    assert "Retry-After" in poll_interval(PollFacts(HALF_HOUR, retry_after=7200)).reason


@given(
    interval=st.integers(MIN_INTERVAL, 2 * 86400),
    recent=st.lists(st.integers(0, 500), max_size=12),
    hint=st.none() | st.integers(1, 10 * 86400),
    retry=st.none() | st.floats(0.1, 10 * 86400),
    failures=st.integers(0, 1000),
)
def test_bounds_hold_whatever_the_facts(
    interval: int, recent: list[int], hint: int | None, retry: float | None, failures: int
) -> None:
    facts = PollFacts(interval, tuple(recent), hint, retry, failures)
    got = poll_interval(facts).seconds
    assert got >= min(ADAPTIVE_FLOOR, interval) >= MIN_INTERVAL
    assert got <= max(BACKOFF_CEILING, interval)
    if failures:
        assert got >= min(2 * interval, BACKOFF_CEILING)
    elif not retry or retry <= interval:
        assert got <= max(ADAPTIVE_CEILING, interval)
    assert poll_interval(facts) == poll_interval(facts)  # pure


def test_jitter_and_durations() -> None:
    assert jitter_for(60) == 6
    assert jitter_for(86400) == 300
    assert human(3600) == "1h"
    assert human(90) == "1m30s"
    assert human(0.4) == "0s"

"""The downloader's shared tick: sites' delays drawn once per request, due on common ticks."""

from __future__ import annotations

import math
import random

from scrapy.core.downloader import Slot

from crawler.downloader import (
    FINEST_TICK,
    FIXED_SLACK,
    WAKE_TICK,
    SharedTickSlot,
    due_on_tick,
)
from crawler.scrapy_setup import scrapy_settings


def coarsest_tick(moment: float) -> float:
    """The coarsest of the shared ticks that `moment` falls on."""
    tick = WAKE_TICK
    while not math.isclose(moment / tick, round(moment / tick), abs_tol=1e-6):
        tick /= 2
        assert tick >= FINEST_TICK, moment
    return tick


def test_a_due_time_is_the_coarsest_tick_in_its_window_nearest_the_draw() -> None:
    rng = random.Random(3)
    for _ in range(5000):
        earliest = rng.uniform(0, 10_000)
        latest = earliest + rng.choice([0.001, 0.01, 0.2, 0.25, 0.5, 2.0])
        drawn = rng.uniform(earliest, latest)
        due = due_on_tick(drawn, earliest, latest)
        assert earliest - 1e-9 <= due <= latest + 1e-9
        tick = coarsest_tick(due)
        if tick < WAKE_TICK:  # no tick twice as coarse falls in the window
            double = 2 * tick
            assert math.ceil(earliest / double) > math.floor(latest / double)
        nearest = round(drawn / tick) * tick
        if earliest <= nearest <= latest:
            assert math.isclose(due, nearest), (drawn, earliest, latest, due)


def test_a_window_narrower_than_every_tick_keeps_its_draw() -> None:
    earliest = 1.5 + FINEST_TICK / 4
    assert due_on_tick(earliest + 1e-5, earliest, earliest + 2e-5) == earliest + 1e-5


def test_a_delay_is_drawn_once_per_request() -> None:
    slot = SharedTickSlot(2, 0.5, 0.5)
    slot.lastseen = 1000.0
    first = slot.download_delay()
    assert {slot.download_delay() for _ in range(50)} == {first}
    plain = Slot(2, 0.5, 0.5)  # Scrapy's draws again each time it looks
    assert len({plain.download_delay() for _ in range(50)} - {first}) > 1
    waits = set()
    for n in range(50):  # the next requests: drawn anew
        slot.lastseen = 1000.0 + 0.7 * n
        waits.add(round(slot.download_delay(), 6))
    assert len(waits) > 1


def test_a_site_slowed_down_while_its_request_waits_gets_the_longer_delay() -> None:
    slot = SharedTickSlot(1, 0.5, 0.5)
    slot.lastseen = 300.0
    assert slot.download_delay() <= 0.75
    slot.delay = 4.0  # AutoThrottle, on an answer of the site's that came in meanwhile
    assert slot.download_delay() >= 2.0
    slot.delay = 3.0  # sped up again: the wait drawn stands
    assert slot.download_delay() >= 2.0


def test_a_crawl_delay_read_while_a_request_waits_is_waited_in_full() -> None:
    """robots.txt answered, with a Crawl-delay equal to the delay the slot had: its jitter
    goes (crawler.throttle), and the request waiting behind robots.txt waits the full delay."""
    for start in range(200):
        slot = SharedTickSlot(1, 1.0, 0.5)
        slot.lastseen = 700.0 + start / 100  # robots.txt sent
        slot.download_delay()  # the feed request behind it, drawn between 0.5 and 1.5 s
        slot.jitter = 0.0
        assert slot.download_delay() >= 1.0


def test_a_request_is_sent_within_the_window_scrapy_draws_from() -> None:
    """Never earlier than Scrapy could send it; later only within its jitter, or for a
    delay without jitter (a Crawl-delay) by FIXED_SLACK of it."""
    rng = random.Random(7)
    for _ in range(2000):
        delay = rng.choice([0.05, 0.5, 1.0, 1.7, 5.0])
        jitter = rng.choice([0.0, 0.25, 0.5])
        slot = SharedTickSlot(1, delay, jitter)
        slot.lastseen = rng.uniform(0, 100_000)
        wait = slot.download_delay()
        assert delay * (1 - jitter) - 1e-9 <= wait, (delay, jitter, wait)
        assert wait <= delay * (1 + (jitter or FIXED_SLACK)) + 1e-9, (delay, jitter, wait)
        coarsest_tick(slot.lastseen + wait)  # on a shared tick


def test_sites_due_about_the_same_time_are_woken_together() -> None:
    """Two sites held to one request a second (no jitter, as under a Crawl-delay), and two
    at veille's default half a second ±50 %: sent 40 ms apart, the next requests of each
    pair are due on the same tick, not before their delay."""
    for delay, jitter in ((1.0, 0.0), (0.5, 0.5)):
        first, second = SharedTickSlot(1, delay, jitter), SharedTickSlot(1, delay, jitter)
        first.lastseen, second.lastseen = 500.03, 500.07
        due = {s.lastseen + s.download_delay() for s in (first, second)}
        assert len(due) == 1 and min(due) >= 500.07 + delay * (1 - jitter), (delay, due)


def test_a_slot_without_delay_is_not_held() -> None:
    slot = SharedTickSlot(8, 0.0, 0.5)
    slot.lastseen = 12.3
    assert slot.download_delay() == 0.0


def test_the_crawl_downloads_through_it() -> None:
    assert scrapy_settings({}).get("DOWNLOADER") == "crawler.downloader.SharedTickDownloader"

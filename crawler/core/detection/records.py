"""One record per agreement (GUIDELINE "One record per agreement"): sentences -> records.

The detector turns every sentence that speaks of an agreement into a `Mention`; `cluster`
groups them: a mention opens a new record when it is marked as a new item of an enumeration
("la deuxième", "in a second agreement"), introduces an agreement with an indefinite article
and shares no party or amount with the records so far, or is a named item of a batch; else it
tells more about a record already opened. Batches ("six conventions") become one record whose
count is what the named items and groups leave over.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .amounts import Amount
from .text import fold


@dataclass
class Mention:
    """What one sentence says about an agreement."""

    index: int
    paragraph: int
    body: bool
    event: bool  # a signing sentence
    parties: list[str]
    amounts: list[Amount]  # the agreement's own value(s)
    totals: list[Amount]  # amounts stated as a total
    types: list[str]
    count: int | None = None  # batch size (0: untold, "plusieurs"); None: not a batch
    new: bool = False  # marked as a new item ("autre", "la deuxième", "for its part")
    indefinite: bool = False  # "une convention", "an agreement"
    plural: bool = False  # "les conventions", "the contracts": the batch told again
    item: bool = False  # a named item of a batch (party + amount, no agreement noun)
    continuation: bool = False  # "Elle associe ...": more parties for the previous record


@dataclass
class Record:
    """An agreement being assembled from its mentions."""

    mentions: list[Mention] = field(default_factory=list)
    parties: list[str] = field(default_factory=list)
    amounts: list[Amount] = field(default_factory=list)
    totals: list[Amount] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    count: int = 1
    batch: bool = False  # the summary of a batch ("six conventions")
    group: bool = False  # a group of a batch with its own count
    inherited: list[str] = field(default_factory=list)  # parties given for the whole batch

    def add(self, m: Mention) -> None:
        """Merge one more mention into this record."""
        self.mentions.append(m)
        for name in m.parties:
            if name not in self.parties:
                self.parties.append(name)
        for a in m.amounts:
            if not any(_same_amount(a, b) for b in self.amounts):
                self.amounts.append(a)
        for a in m.totals:
            if not any(_same_amount(a, b) for b in self.totals):
                self.totals.append(a)
        # Its kind is the one named where it is introduced (the first body sentence that names
        # one); later references ("ce partenariat") and headlines use looser words.
        if m.types and (
            not self.types or (m.body and not any(x.body and x.types for x in self.mentions[:-1]))
        ):
            self.types = list(m.types)

    @property
    def empty(self) -> bool:
        """No party and no value yet."""
        return not (self.parties or self.amounts)


def _same_amount(a: Amount, b: Amount) -> bool:
    """Same currency and value within 1 %."""
    return a["currency"] == b["currency"] and abs(a["value"] - b["value"]) <= 0.01 * abs(b["value"])


def _same_party(a: str, b: str) -> bool:
    """One folded name contains the other."""
    x, y = fold(a), fold(b)
    return len(x) >= 3 and len(y) >= 3 and (x in y or y in x)


def _shares(r: Record, m: Mention) -> bool:
    """Does the mention share an own party or a value with the record?"""
    own = [p for p in r.parties if p not in r.inherited]
    if any(_same_party(p, q) for p in own for q in m.parties):
        return True
    return any(_same_amount(a, b) for a in m.amounts for b in r.amounts)


def cluster(mentions: list[Mention], industrial_part: int | None = None) -> list[Record]:
    """Group mentions (in text order) into agreement records; `industrial_part` is the number
    of a batch's agreements the text says are industrial (the others are not records)."""
    records: list[Record] = []
    batch: Record | None = None
    for m in mentions:
        if m.count is not None and not m.item:
            if batch is None and not any(r.group for r in records):
                batch = Record(count=m.count, batch=True)
                # earlier plural mentions ("the contracts were signed by ...") told this batch
                for r in [r for r in records if all(x.plural for x in r.mentions)]:
                    records.remove(r)
                    for x in r.mentions:
                        batch.add(x)
                batch.add(m)
                records.append(batch)
                continue
            if batch is not None and m.new and m.parties and m.count >= batch.count > 0:
                records.append(_new(m))  # "Première des trois conventions, celle de X": an item
                continue
            if batch is not None and (m.count == 0 or m.count >= batch.count or batch.count == 0):
                batch.add(m)  # the batch told again
                batch.count = max(batch.count, m.count)
                continue
            group = Record(count=m.count, group=True)
            group.add(m)
            records.append(group)
            continue
        last = records[-1] if records else None
        shared = next((r for r in reversed(records) if _shares(r, m)), None)
        if m.continuation and last is not None:
            last.add(m)
        elif m.new and not m.item and last is not None and any(x.body for x in last.mentions):
            records.append(_new(m))
        elif (
            m.item
            and not m.new
            and not m.parties
            and last is not None
            and not last.batch
            and (last.mentions[-1].paragraph == m.paragraph or not last.amounts)
        ):
            last.add(m)  # "The group committed to spend ...": the value of the one just told
        elif shared is not None and shared.batch and not m.plural and (m.amounts or m.indefinite):
            records.append(_new(m))  # one named agreement of the batch, with its own value
        elif _another_value(m, shared or last, batch):
            records.append(_new(m))  # another value in a batch: another agreement of it
        elif shared is not None:
            shared.add(m)
        elif _opens(m, last):
            records.append(_new(m))
        else:
            last.add(m)  # type: ignore[union-attr]  # _opens is True when last is None
    if batch is not None and industrial_part and 0 < industrial_part < batch.count:
        batch.count = industrial_part
        records = [
            r for r in records if r.batch or r.group or not all(x.plural for x in r.mentions)
        ]
    return _settle(records)


def _another_value(m: Mention, target: Record | None, batch: Record | None) -> bool:
    """Inside a batch, a value unlike the one of the record it would join is another agreement."""
    if batch is None or target is None or target.batch or m.plural or not m.amounts:
        return False
    return bool(target.amounts) and not any(
        _same_amount(a, b) for a in m.amounts for b in target.amounts
    )


def _opens(m: Mention, last: Record | None) -> bool:
    """Does a mention that shares nothing with the records so far open a record of its own?"""
    if last is None or m.new or m.item:
        return True
    if last.batch:  # a named agreement after the batch summary
        return bool(m.parties or m.amounts) and not m.plural
    return m.indefinite and m.event and any(x.body for x in last.mentions)


def _new(m: Mention) -> Record:
    """A record opened by this mention."""
    r = Record()
    r.add(m)
    return r


def _settle(records: list[Record]) -> list[Record]:
    """Batches keep what their named items and groups leave over; items inherit the batch."""
    batch = next((r for r in records if r.batch), None)
    if batch is None:
        return records
    others = [r for r in records if r is not batch]
    after = records[records.index(batch) + 1 :]
    for r in after:
        if len([p for p in r.parties if p not in batch.parties]) > 1:
            continue  # its own sentence names both sides: the batch's parties are not its own
        for name in batch.parties:
            if not any(_same_party(name, p) for p in r.parties):
                r.parties.append(name)
                r.inherited.append(name)
        if not r.types:
            r.types = list(batch.types)
    if not others:
        batch.count = max(batch.count, 1)
        batch.amounts = batch.amounts or batch.totals
        return records
    if batch.count == 0:
        return others
    remaining = batch.count - sum(r.count for r in after)
    if remaining <= 0:
        return others
    batch.count = remaining
    batch.amounts = []  # the event's total is not the value of the rest
    return records

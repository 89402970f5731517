"""Progress and exam readiness, computed from what ``api.store.progress`` reads.

Pure functions of the facts, the time and the user's scheduler: no database, no HTTP. Days
are UTC days. A question family is one item, like a card, and counts on its family's topic.
Readiness asks fsrs's forgetting curve, with the user's own parameters, how likely each
studied item is to be recalled at the start of a given day.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from ..store.progress import ItemFact, ProgressFacts
from .scheduler import FSRS, STATE_NAMES

__all__ = [
    "Summary",
    "TopicStages",
    "summarize",
    "streak",
    "Readiness",
    "TopicReadiness",
    "AtRisk",
    "readiness",
    "start_of_day",
]


def start_of_day(d: date) -> datetime:
    """Midnight UTC at the start of ``d``."""
    return datetime.combine(d, time(0, 0), tzinfo=UTC)


@dataclass
class TopicStages:
    """A topic's items by learning stage (cards and question families)."""

    topic: str
    new: int = 0
    learning: int = 0
    review: int = 0


@dataclass(frozen=True)
class Summary:
    """The figures of ``GET /progress``."""

    due_now: int
    due_by_kind: dict[str, int]
    forecast: list[tuple[date, int]]
    reviewed_today: int
    retention: float | None
    retention_reviews: int
    topics: list[TopicStages]
    streak_days: int
    total_reviews: int
    suspended: int
    leeches: list = field(default_factory=list)


def streak(days: set[date], today: date) -> int:
    """Consecutive days with a review, ending today (or yesterday, if today is still open)."""
    day = today if today in days else today - timedelta(days=1)
    count = 0
    while day in days:
        count += 1
        day -= timedelta(days=1)
    return count


def _stages(
    items: Iterable[ItemFact],
    card_totals: dict[str, int],
    family_topics: dict[str, str],
) -> list[TopicStages]:
    """Per topic: new, learning and review items. A topic's question families count once
    it has cards the user may study (public topics, their own)."""
    per: dict[str, TopicStages] = {}
    for item in items:
        topic = item.topic if item.kind == "card" else family_topics.get(item.item_id[2:])
        if topic is None:
            continue
        stages = per.setdefault(topic, TopicStages(topic))
        if STATE_NAMES.get(item.state) == "review":
            stages.review += 1
        else:
            stages.learning += 1
    families_per_topic: dict[str, int] = {}
    for topic in family_topics.values():
        families_per_topic[topic] = families_per_topic.get(topic, 0) + 1
    for topic, cards in card_totals.items():
        stages = per.setdefault(topic, TopicStages(topic))
        total = cards + families_per_topic.get(topic, 0)
        stages.new = max(0, total - stages.learning - stages.review)
    return sorted(per.values(), key=lambda s: s.topic)


def summarize(facts: ProgressFacts, now: datetime, family_topics: dict[str, str]) -> Summary:
    """Due counts (by kind), a 7-day forecast, retention, per-topic stages and the streak.

    Cards set aside (suspended, buried) are neither due nor forecast; they keep their stage.
    """
    today = now.date()
    forecast = {today + timedelta(days=i): 0 for i in range(7)}
    due_by_kind = {"card": 0, "question": 0}
    for item in facts.items:
        if item.set_aside or (item.kind == "question" and item.item_id[2:] not in family_topics):
            continue
        day = max(item.due.date(), today)
        if day in forecast:
            forecast[day] += 1
        if item.due <= now:
            due_by_kind[item.kind] += 1
    kept, reviews = facts.retention_kept, facts.retention_reviews
    return Summary(
        due_now=sum(due_by_kind.values()),
        due_by_kind=due_by_kind,
        forecast=sorted(forecast.items()),
        reviewed_today=facts.reviewed_today,
        retention=round(kept / reviews, 4) if reviews else None,
        retention_reviews=reviews,
        topics=_stages(facts.items, facts.topic_totals, family_topics),
        streak_days=streak(facts.review_days, today),
        total_reviews=facts.total_reviews,
        suspended=facts.suspended,
        leeches=list(facts.leeches),
    )


# --- readiness ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TopicReadiness:
    """Predicted recall over one topic's studied items on the day."""

    topic: str
    items: int
    recall: float  # mean predicted probability of recall
    at_risk: int  # items below the user's desired retention


@dataclass(frozen=True)
class AtRisk:
    """An item among those most likely forgotten by the day."""

    item_id: str
    kind: str
    topic: str
    recall: float
    stability: float | None
    last_review: datetime | None


@dataclass(frozen=True)
class Readiness:
    """The forecast of ``GET /progress/readiness``."""

    date: date
    at: datetime
    desired_retention: float
    items: int
    recall: float | None
    topics: list[TopicReadiness]
    at_risk: list[AtRisk]


def readiness(
    items: list[ItemFact],
    fsrs: FSRS,
    day: date,
    topic_of: Callable[[ItemFact], str | None],
    topics: set[str] | None,
    limit: int,
) -> Readiness:
    """Each studied item's probability of recall at the start of ``day`` (fsrs's forgetting
    curve with the user's parameters), per topic and overall, and up to ``limit`` items
    below the user's desired retention, least likely recalled first (items set aside are
    not offered: a session could not serve them)."""
    at = start_of_day(day)
    scored: list[tuple[float, ItemFact, str]] = []
    for item in items:
        topic = topic_of(item)
        if topic is None or (topics is not None and topic not in topics):
            continue
        recall = fsrs.retrievability(item.stability, item.last_review, at)
        scored.append((recall, item, topic))
    per: dict[str, list[float]] = {}
    for recall, _item, topic in scored:
        per.setdefault(topic, []).append(recall)
    target = fsrs.desired_retention
    by_topic = [
        TopicReadiness(t, len(rs), round(sum(rs) / len(rs), 4), sum(r < target for r in rs))
        for t, rs in sorted(per.items())
    ]
    risky = sorted(
        (s for s in scored if s[0] < target and not s[1].set_aside),
        key=lambda s: (s[0], s[1].item_id),
    )
    at_risk = [
        AtRisk(i.item_id, i.kind, t, round(r, 4), i.stability, i.last_review)
        for r, i, t in risky[:limit]
    ]
    overall = round(sum(s[0] for s in scored) / len(scored), 4) if scored else None
    return Readiness(day, at, target, len(scored), overall, by_topic, at_risk)

"""Generated questions for the HTTP layer: families, variants and what a grade becomes.

``grader`` (and through it torch) is imported on first use, so start-up stays fast. Variants
are cached in memory by (family, seed, difficulty): they are immutable and deterministic.

A study step needs a *fresh* variant (another one than the student saw last), and generating
one costs 1-20 ms of CPU, several times a card step. Since a variant is a pure function of
(family, difficulty, seed), each (family, difficulty) in use keeps a pool of variants drawn
ahead by a background thread (``_Pools``): a step takes a random member other than the last
one on the event loop, and the pool changes slowly (a member replaced in the background every
few draws), so the variants a class sees keep moving over the whole seed range.
"""

from __future__ import annotations

import logging
import queue
import random
import secrets
import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from ..store import Gone, NotFound
from ..store.questions import GradeRecord, QuestionRecord
from .study_rules import rating_for  # the grade → rating rule (re-exported here)

if TYPE_CHECKING:
    from grader.question import Family, Question
    from grader.types import Grade

__all__ = [
    "families",
    "family_or_404",
    "family_of",
    "fresh",
    "pooled",
    "fill_pools",
    "variant",
    "cached_variant",
    "generation_is_warm",
    "mark_generation_warm",
    "public_question",
    "hints_shown",
    "random_seed",
    "grade_dict",
    "grade_record",
    "rating_for",
    "graded",
]


def families() -> dict[str, Family]:
    """Every registered question family by id."""
    from grader.registry import FAMILIES

    return FAMILIES


def family_or_404(family_id: str) -> Family:
    """The family, or a 404 that lists the valid ids."""
    fams = families()
    if family_id not in fams:
        raise NotFound(f"unknown family '{family_id}'; valid: {', '.join(sorted(fams))}")
    return fams[family_id]


class _VariantCache:
    """Recently used variants by (family, seed, difficulty): they never change.

    Unlike ``functools.lru_cache`` it can be asked without computing, so async handlers
    take a cached variant on the event loop and send only real generation to a thread.
    """

    def __init__(self, size: int) -> None:
        self._items: OrderedDict[tuple[str, int, int], Question] = OrderedDict()
        self.size = size
        self._lock = threading.Lock()

    def get(self, key: tuple[str, int, int]) -> Question | None:
        """The cached variant, or None."""
        with self._lock:
            question = self._items.get(key)
            if question is not None:
                self._items.move_to_end(key)
            return question

    def put(self, key: tuple[str, int, int], question: Question) -> None:
        """Remember a variant, forgetting the least recently used beyond the size."""
        with self._lock:
            self._items[key] = question
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


_VARIANTS = _VariantCache(4096)


_WARM = threading.Event()


def mark_generation_warm() -> None:
    """Note that every family has paid its first-use cost (the background warm-up is done)."""
    _WARM.set()


def generation_is_warm() -> bool:
    """Whether a new variant now costs about a millisecond rather than torch's first use."""
    return _WARM.is_set()


def cached_variant(family_id: str, seed: int, difficulty: int) -> Question | None:
    """The variant if it is cached, without generating it."""
    return _VARIANTS.get((family_id, seed, difficulty))


def variant(family_id: str, seed: int, difficulty: int) -> Question:
    """The question for (family, seed, difficulty); cached, as it never changes."""
    key = (family_id, seed, difficulty)
    question = _VARIANTS.get(key)
    if question is None:
        question = family_of(family_id).generate(seed, difficulty)
        _VARIANTS.put(key, question)
    return question


def family_of(family_id: str) -> Family:
    """A registry family, or a course network's this process has built
    (``api.services.course_networks.ensure_families``). A family no longer in the registry (retired
    when the question families were reorganised) is ``Gone``: its stored questions can no
    longer be shown."""
    from .course_networks import course_family

    found = families().get(family_id) or course_family(family_id)
    if found is None:
        raise Gone(f"the question family '{family_id}' was retired; its questions are gone")
    return found


def fresh(family_id: str, difficulty: int, last: tuple[int, int] | None) -> Question:
    """A new variant of a family, other than the one the student saw last (``last``: its
    seed and difficulty), cached like every variant. CPU work (up to a few variants, some
    families take 10-20 ms each): call it in a worker thread. Try ``pooled`` first."""
    from grader.variants import fresh_variant

    family = family_of(family_id)
    before = None if last is None else variant(family_id, *last)
    question = fresh_variant(family, difficulty, before)
    _VARIANTS.put((family_id, question.seed, difficulty), question)
    _POOLS.add(family_id, difficulty, question)
    return question


def fill_pools(difficulty: int = 1) -> int:
    """Fill every registry family's pool at ``difficulty`` (new items ask level 1): the
    start-up warm-up calls it, so the first students of a class find their variants drawn."""
    return sum(_POOLS.fill(family_id, difficulty) for family_id in families())


def pooled(family_id: str, difficulty: int, last: tuple[int, int] | None) -> Question | None:
    """A fresh variant (as ``fresh`` gives) from the family's pool, without generating: cheap
    enough for the event loop. None when the pool cannot answer yet (it is filling, or the
    last variant is not in memory to compare with): then call ``fresh`` in a worker thread."""
    return _POOLS.draw(family_id, difficulty, last)


log = logging.getLogger(__name__)


class _Pools:
    """Variants drawn ahead, per (family, difficulty) in use.

    A pool serves once it holds ``READY`` members (enough that one differs from the last
    variant), fills up to ``SIZE`` in a background thread, and once full has
    one random member replaced every ``ROTATE`` draws on average. Members are ordinary
    variants (``family.generate(seed, difficulty)`` with a random seed), so a pooled variant
    is exactly the one its stored seed regenerates. Retired or unknown families get none.
    """

    SIZE = 16
    READY = 6
    ROTATE = 12
    _rng = random.SystemRandom()  # the operating system's generator, as for every seed

    def __init__(self) -> None:
        self._members: dict[tuple[str, int], list[Question]] = {}
        self._lock = threading.Lock()
        self._wanted: queue.SimpleQueue[tuple[str, int]] = queue.SimpleQueue()
        self._queued: set[tuple[str, int]] = set()
        self._worker: threading.Thread | None = None

    def draw(
        self, family_id: str, difficulty: int, last: tuple[int, int] | None
    ) -> Question | None:
        key = (family_id, difficulty)
        with self._lock:
            members = list(self._members.get(key, ()))
        if len(members) < self.SIZE or self._rng.randrange(self.ROTATE) == 0:
            self._request(key)
        if len(members) < self.READY:
            return None
        before = None
        if last is not None:
            before = _VARIANTS.get((family_id, *last))
            if before is None:
                return None  # regenerating it to compare with is work for a worker thread
        from grader.variants import same_variant

        start = self._rng.randrange(len(members))
        for i in range(len(members)):
            question = members[(start + i) % len(members)]
            if before is None or not same_variant(question, before):
                _VARIANTS.put((family_id, question.seed, difficulty), question)
                return question
        return None  # every member is the last variant: a pool of one (fresh() copes)

    def add(self, family_id: str, difficulty: int, question: Question) -> None:
        """Take a generated variant in; once full, it replaces a random member."""
        with self._lock:
            members = self._members.setdefault((family_id, difficulty), [])
            if any(m.seed == question.seed for m in members):
                return
            if len(members) < self.SIZE:
                members.append(question)
            else:
                members[self._rng.randrange(len(members))] = question

    def fill(self, family_id: str, difficulty: int) -> int:
        """Fill one pool up to ``SIZE`` here and now; the number of variants generated."""
        made = 0
        while len(self._members.get((family_id, difficulty), ())) < self.SIZE:
            question = family_of(family_id).generate(self._rng.randrange(2**31), difficulty)
            _VARIANTS.put((family_id, question.seed, difficulty), question)
            _shown(question)
            self.add(family_id, difficulty, question)
            made += 1
        return made

    def _request(self, key: tuple[str, int]) -> None:
        with self._lock:
            if key in self._queued:
                return
            self._queued.add(key)
            if self._worker is None:
                self._worker = threading.Thread(
                    target=self._fill, name="variant-pools", daemon=True
                )
                self._worker.start()
        self._wanted.put(key)

    def _fill(self) -> None:
        """The background thread: one new variant per request, then a pause.

        Not at a lower OS priority: the thread holds the GIL while it generates, and a
        descheduled holder would stall the event loop behind it (priority inversion). The
        pause after each variant hands the GIL back to the requests between generations.
        """
        while True:
            key = self._wanted.get()
            with self._lock:
                self._queued.discard(key)
            try:
                family = family_of(key[0])
                question = family.generate(self._rng.randrange(2**31), key[1])
            except Exception:  # a retired family, a broken course network: no pool
                log.debug("no variant pool for %s", key, exc_info=True)
                continue
            _VARIANTS.put((key[0], question.seed, key[1]), question)
            _shown(question)  # its hints checked and fields built here, not on a step
            self.add(key[0], key[1], question)
            with self._lock:
                short = len(self._members.get(key, ())) < self.SIZE
            if short:
                self._request(key)
            time.sleep(0.005)


_POOLS = _Pools()


def random_seed() -> int:
    """A fresh seed for a new variant."""
    return secrets.randbelow(2**31)


def _spec_public(spec: Any) -> dict[str, Any]:
    """The answer's public description, written by its kind (``grader.kinds``): its form,
    unit, choices or parts, and the line the page shows under the answer box."""
    from grader.kinds import kind_of

    out: dict[str, Any] = kind_of(spec).schema(spec)
    return out


def hints_shown(question: Question, copy: list[Question] | None = None) -> tuple[str, ...]:
    """The hints a student may be shown: the question's own, less any that states the answer
    of a question of its copy (``copy``: the exam's questions; a practice question is a copy
    of one). ``grader.leaks`` decides."""
    from grader.leaks import safe_hints

    return safe_hints(question, copy or [question])


class _Shown:
    """What every showing of one variant on its own shares: its safe hints and its public
    fields. A pure function of the variant, computed once (for a pooled variant, by the
    background thread that drew it), since checking the hints against the truth and
    describing the answer cost a study step more than its queries."""

    __slots__ = ("question", "hints", "fields")

    def __init__(self, question: Question) -> None:
        self.question = question
        self.hints = hints_shown(question)
        self.fields = {
            "family": question.family,
            "topic": question.topic,
            "seed": question.seed,
            "difficulty": question.difficulty,
            "prompt": question.prompt,
            "rules": question.rules,
            "params": dict(question.params),
            "answer": _spec_public(question.answer),
            "conventions": list(question.conventions),
        }


_SHOWN: OrderedDict[tuple[str, int, int], _Shown] = OrderedDict()
_SHOWN_LOCK = threading.Lock()


def _shown(question: Question) -> _Shown:
    """The variant's shared public part, from the cache when it is this very variant."""
    key = (question.family, question.seed, question.difficulty)
    with _SHOWN_LOCK:
        entry = _SHOWN.get(key)
        if entry is not None and entry.question is question:
            _SHOWN.move_to_end(key)
            return entry
    entry = _Shown(question)
    with _SHOWN_LOCK:
        _SHOWN[key] = entry
        while len(_SHOWN) > _VARIANTS.size:
            _SHOWN.popitem(last=False)
    return entry


def public_question(
    instance: QuestionRecord, question: Question, hints: tuple[str, ...] | None = None
) -> dict[str, Any]:
    """A question as shown before grading: everything but the truth and the solution
    (``hints``: the hints it may show, when the caller checked them against a whole copy).
    A new dict each call; its nested values are shared with the cache: read them only."""
    shown = _shown(question)
    count = len(shown.hints if hints is None else hints)
    return {"id": instance.id, **shown.fields, "hints": count, "hints_used": instance.hints_used}


def grade_dict(grade: Grade, question: Question) -> dict[str, Any]:
    """A grade as returned over HTTP, with the worked solution."""
    d = grade.to_dict()
    d["solution"] = question.solution
    return d


def graded(question: Question, answer: str, hints_used: int) -> Grade:
    """Grade an answer, its score capped for the hints shown first (``grader.hints``)."""
    from grader.hints import apply_hints

    return apply_hints(question.grade(answer), hints_used)


def grade_record(grade: Grade, answer: str) -> GradeRecord:
    """What the store keeps of a grade."""
    return GradeRecord(grade.status, grade.score, answer, [d.code for d in grade.diagnosis])

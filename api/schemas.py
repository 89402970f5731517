"""Public shapes shared by several routers (cards, questions, grades).

A router's own request and response bodies stay in the router; what two routers both send
lives here, so no router imports another.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

__all__ = [
    "CardFlagsPublic",
    "CardPublic",
    "ExamplePublic",
    "CardDetail",
    "AnswerSpecPublic",
    "QuestionPublic",
    "DiagnosisPublic",
    "GradePublic",
    "QuestionResult",
    "TopicScore",
    "ExamResult",
    "ExamPublic",
]


class CardFlagsPublic(BaseModel):
    """The caller's flags on a card: suspended (leeches are), a leech, buried until."""

    suspended: bool = False
    leech: bool = False
    buried_until: datetime | None = None


class CardPublic(BaseModel):
    """A flashcard as listed (with a token: the caller's flags, and whether it is theirs)."""

    id: str
    topic: str
    front: str
    back: str
    tags: list[str]
    source: str
    retired: bool
    own: bool = False
    flags: CardFlagsPublic | None = None


class ExamplePublic(BaseModel):
    """An executable example: its code, the expected and the real output of its last run."""

    code: str
    expected_output: str
    output: str | None
    ok: bool | None
    duration_ms: int | None
    ran_at: datetime | None


class CardDetail(CardPublic):
    """A flashcard with its examples."""

    examples: list[ExamplePublic]


class AnswerSpecPublic(BaseModel):
    """What form the answer takes (the truth is never included)."""

    kind: str
    unit: str | None = None
    dimension: str | None = None
    choices: list[str] | None = None
    batch: bool | None = None
    parts: dict[str, Any] | None = None
    form: str | None = Field(
        default=None, description="How to write the answer, in a line (the answer kind's own)."
    )


class QuestionPublic(BaseModel):
    """A stored question instance, without its truth (and without its seed when it belongs
    to a course assessment)."""

    id: int
    family: str
    topic: str
    seed: int | None
    difficulty: int
    prompt: str = Field(description="The question itself, first.")
    rules: str = Field(
        default="",
        description="The conventions and the answering rule (form, precision, credit), stated "
        "once and short: a page may fold them under the question.",
    )
    params: dict[str, Any]
    answer: AnswerSpecPublic
    conventions: list[str]
    hints: int = Field(default=0, description="How many hints the question has (POST …/hint).")
    hints_used: int = Field(default=0, description="Hints shown so far; each caps the score.")
    shown_hints: list[str] = Field(
        default_factory=list, description="The text of the hints shown so far (exams)."
    )
    saved_answer: str | None = Field(
        default=None, description="The answer saved as typed (PUT /exams/{id}/answers)."
    )


class DiagnosisPublic(BaseModel):
    """A named mistake."""

    code: str
    message: str
    part: str | None = None


class GradePublic(BaseModel):
    """The grade of an answer, with the expected answer and the worked solution."""

    status: str
    score: float
    expected: Any
    expected_display: str
    feedback: str
    diagnosis: list[DiagnosisPublic]
    solution: str
    parts: dict[str, Any] | None = None
    hints_used: int = 0
    max_score: float = Field(
        default=1.0, description="The most this answer could score (hints cap it)."
    )
    cards: list[str] = Field(default_factory=list, description="Ids of the cards that teach it.")


class QuestionResult(BaseModel):
    """How one question of a submitted exam went."""

    question_id: int
    position: int
    family: str
    topic: str
    answer: str | None
    status: Literal["correct", "partial", "incorrect", "invalid", "unanswered"]
    score: float
    feedback: str
    expected: Any
    expected_display: str
    diagnosis: list[dict[str, Any]]
    solution: str
    hints_used: int = 0
    cards: list[str] = Field(default_factory=list, description="Ids of the cards that teach it.")
    computed_score: float | None = Field(
        default=None, description="The grader's score when an instructor overrode it."
    )
    comment: str | None = Field(default=None, description="The instructor's comment, if any.")


class TopicScore(BaseModel):
    """Score per topic."""

    score: float
    max_score: float
    percent: float


class ExamResult(BaseModel):
    """The result of a submission."""

    score: float
    max_score: float
    percent: float
    late: bool
    submitted_at: datetime
    by_topic: dict[str, TopicScore]
    per_question: list[QuestionResult]
    auto_submitted: bool = Field(
        default=False, description="Submitted by the server at the deadline, as saved."
    )


class ExamPublic(BaseModel):
    """An exam; the result (with expected answers and solutions) only after submission.

    A copy of a course assessment shows no seed (its variants come from a secret)."""

    id: int
    assessment_id: int | None = None
    seed: int | None
    count: int
    topics: list[str] | None
    families: list[str] | None
    difficulty: int | None
    time_limit_min: int | None
    created_at: datetime
    deadline: datetime | None
    server_time: datetime | None = Field(
        default=None, description="The server's clock now: count down from it, not the device's."
    )
    extra_minutes: int | None = Field(default=None, description="Your accommodation, if any.")
    submitted: bool
    auto_submitted: bool = False
    hints_allowed: bool = Field(
        default=False, description="Whether POST /questions/{id}/hint works for its questions."
    )
    questions: list[QuestionPublic]
    result: ExamResult | None = None

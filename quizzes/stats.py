"""Progress figures for Home and a progress screen, computed from the store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo

from content.schema import Course
from quizzes.scheduler import State, StudyScheduler, loads_state, utc
from quizzes.session import new_left_today, study_deck
from quizzes.settings import load_settings
from quizzes.store import Store

__all__ = [
    "ConceptMastery",
    "LessonProgress",
    "StudyStats",
    "WeekRetention",
    "study_stats",
    "Overall",
    "due_and_new_today",
    "due_count",
    "lesson_progress",
    "new_count",
    "overall",
    "study_streak",
]

CARD_STATES = ("new", "learning", "review", "relearning")


@dataclass(frozen=True)
class LessonProgress:
    """One lesson as the course map shows it.

    best_score is the best finished "Check yourself" attempt as (right, total), or None.
    """

    lesson_id: str
    opened: bool
    read: bool
    position: float
    cards_seen: int
    cards_total: int
    questions_total: int
    best_score: tuple[int, int] | None


@dataclass(frozen=True)
class Overall:
    """Whole-course figures. cards_by_state has keys new, learning, review, relearning."""

    lessons_total: int
    lessons_read: int
    cards_total: int
    cards_by_state: dict[str, int]
    due_now: int
    reviews: int
    answers_right: int
    answers_total: int
    streak_days: int
    studied_today: bool


def _best_scores(store: Store) -> dict[str, tuple[int, int]]:
    best: dict[str, tuple[int, int]] = {}
    for attempt in store.attempts("lesson"):
        if attempt.finished_at is None or attempt.lesson_id is None or not attempt.question_ids:
            continue
        score = (attempt.right, len(attempt.question_ids))
        held = best.get(attempt.lesson_id)
        if held is None or score[0] * held[1] > held[0] * score[1]:
            best[attempt.lesson_id] = score
    return best


def lesson_progress(course: Course, store: Store) -> dict[str, LessonProgress]:
    """Lesson id -> LessonProgress, in course order."""
    records = store.lessons()
    seen = set(store.card_states())
    best = _best_scores(store)
    result = {}
    for lesson in course.lessons:
        record = records.get(lesson.id)
        result[lesson.id] = LessonProgress(
            lesson_id=lesson.id,
            opened=record is not None and record.opened_at is not None,
            read=record is not None and record.read,
            position=record.position if record is not None else 0.0,
            cards_seen=sum(card.id in seen for card in lesson.cards),
            cards_total=len(lesson.cards),
            questions_total=len(lesson.questions),
            best_score=best.get(lesson.id),
        )
    return result


def due_count(course: Course, store: Store, now: datetime) -> int:
    """How many of the course's cards that have been studied are due at `now`."""
    moment = utc(now)
    states = store.card_states()
    return sum(1 for card in course.cards if card.id in states and states[card.id][1] <= moment)


def due_and_new_today(
    course: Course, store: Store, now: datetime, tz: tzinfo | None = None
) -> tuple[int, int]:
    """What Review would show now: (cards due, new cards the daily limit still allows),
    counting the learner's own cards as well as the course's."""
    moment = utc(now)
    states = store.card_states()
    deck = study_deck(course, store)
    due = sum(1 for card in deck if card.id in states and states[card.id][1] <= moment)
    unseen = sum(1 for card in deck if card.id not in states)
    allowed = new_left_today(store, moment, load_settings(store).new_per_day, tz)
    return due, min(unseen, allowed)


def new_count(course: Course, store: Store) -> int:
    """How many of the course's cards have never been studied."""
    states = store.card_states()
    return sum(1 for card in course.cards if card.id not in states)


def study_streak(days: set[date], today: date) -> int:
    """Consecutive study days ending today, or ending yesterday if not yet studied today."""
    day = today if today in days else today - timedelta(days=1)
    streak = 0
    while day in days:
        streak += 1
        day -= timedelta(days=1)
    return streak


def overall(course: Course, store: Store, now: datetime | None = None, tz: tzinfo | None = None) -> Overall:
    """Figures for a progress screen. Study days are counted in `tz` (default: the
    machine's local zone), so a streak follows the learner's calendar."""
    moment = utc(now) if now is not None else datetime.now(timezone.utc)
    zone = tz if tz is not None else datetime.now().astimezone().tzinfo
    states = store.card_states()
    by_state = {name: 0 for name in CARD_STATES}
    for card in course.cards:
        stored = states.get(card.id)
        if stored is None:
            by_state["new"] += 1
            continue
        try:
            by_state[State(loads_state(stored[0]).state).name.lower()] += 1
        except ValueError:
            by_state["new"] += 1
    answers = store.answers()
    days = {t.astimezone(zone).date() for t in store.activity_times()}
    today = moment.astimezone(zone).date()
    records = store.lessons()
    return Overall(
        lessons_total=len(course.lessons),
        lessons_read=sum(1 for lesson in course.lessons if lesson.id in records and records[lesson.id].read),
        cards_total=len(course.cards),
        cards_by_state=by_state,
        due_now=due_count(course, store, moment),
        reviews=len(store.review_log()),
        answers_right=sum(a.correct for a in answers),
        answers_total=len(answers),
        streak_days=study_streak(days, today),
        studied_today=today in days,
    )


# ---------------------------------------------------------------------------- the Stats view

FORECAST_DAYS = 30
HEATMAP_WEEKS = 26
RETENTION_WEEKS = 8
WEAKEST = 5
# Time studied is estimated from the gaps between consecutive reviews and answers, each
# gap counted up to this cap (Anki caps one answer's time at 60 s by default): a longer
# gap means the learner was away, not thinking.
GAP_CAP_SECONDS = 60


@dataclass(frozen=True)
class WeekRetention:
    """True retention in one week: of the reviews of cards already in the review state
    (learning steps excluded, as in Anki), the share not graded Again."""

    week_start: date
    reviews: int
    passed: int

    @property
    def retention(self) -> float | None:
        return self.passed / self.reviews if self.reviews else None


@dataclass(frozen=True)
class ConceptMastery:
    """How well one syllabus concept is held: the mean over its cards (recall probability
    now; 0 if never studied) and its questions (1 if last answered right, else 0)."""

    concept: str
    mastery: float
    items: int
    studied: int


@dataclass(frozen=True)
class StudyStats:
    today: date
    forecast: list[int]  # cards due on each of the next 30 days; [0] includes overdue
    retention: list[WeekRetention]  # the last 8 weeks, oldest first
    heatmap_start: date  # a Monday; heatmap[i] counts reviews on heatmap_start + i days
    heatmap: list[int]  # 26 weeks × 7 days, up to today
    reviews_total: int
    seconds_studied: int
    seconds_today: int
    concepts: list[ConceptMastery]  # every syllabus concept, weakest first
    weakest: list[str]  # up to 5 studied concepts with the lowest mastery
    desired_retention: float
    new_per_day: int
    streak_days: int | None  # None unless the learner opted in

    def to_json(self) -> dict:
        return {
            "today": self.today.isoformat(),
            "forecast": self.forecast,
            "retention_by_week": [
                {
                    "week_start": w.week_start.isoformat(),
                    "reviews": w.reviews,
                    "passed": w.passed,
                    "retention": None if w.retention is None else round(w.retention, 4),
                }
                for w in self.retention
            ],
            "heatmap": {"start": self.heatmap_start.isoformat(), "days": self.heatmap},
            "reviews_total": self.reviews_total,
            "time_studied": {
                "seconds": self.seconds_studied,
                "today_seconds": self.seconds_today,
                "gap_cap_seconds": GAP_CAP_SECONDS,
            },
            "concepts": [
                {"concept": c.concept, "mastery": round(c.mastery, 4), "items": c.items, "studied": c.studied}
                for c in self.concepts
            ],
            "weakest_concepts": self.weakest,
            "desired_retention": self.desired_retention,
            "new_per_day": self.new_per_day,
            "streak_days": self.streak_days,
        }


def _zone(tz: tzinfo | None) -> tzinfo:
    return tz if tz is not None else (datetime.now().astimezone().tzinfo or timezone.utc)


def _forecast(states: dict[str, tuple[str, datetime]], ids: set[str], today: date, zone: tzinfo) -> list[int]:
    counts = [0] * FORECAST_DAYS
    for card_id, (_, due) in states.items():
        if card_id not in ids:
            continue
        offset = max(0, (due.astimezone(zone).date() - today).days)
        if offset < FORECAST_DAYS:
            counts[offset] += 1
    return counts


def _was_review(prev_state: str | None) -> bool:
    if prev_state is None:
        return False
    try:
        return State(loads_state(prev_state).state) == State.Review
    except ValueError:
        return False


def _retention(log, today: date, zone: tzinfo) -> list[WeekRetention]:
    this_monday = today - timedelta(days=today.weekday())
    starts = [this_monday - timedelta(weeks=k) for k in range(RETENTION_WEEKS - 1, -1, -1)]
    tally = {start: [0, 0] for start in starts}
    for _, rating, when, prev_state, _ in log:
        day = when.astimezone(zone).date()
        start = day - timedelta(days=day.weekday())
        if start in tally and _was_review(prev_state):
            tally[start][0] += 1
            tally[start][1] += rating > 1
    return [WeekRetention(start, n, passed) for start, (n, passed) in tally.items()]


def _heatmap(log, today: date, zone: tzinfo) -> tuple[date, list[int]]:
    start = today - timedelta(days=today.weekday()) - timedelta(weeks=HEATMAP_WEEKS - 1)
    days = [0] * ((today - start).days + 1)
    for _, _, when, _, _ in log:
        offset = (when.astimezone(zone).date() - start).days
        if 0 <= offset < len(days):
            days[offset] += 1
    return start, days


def _time_studied(times: list[datetime], since: datetime) -> tuple[int, int]:
    total = today = 0.0
    ordered = sorted(times)
    for before, after in zip(ordered, ordered[1:]):
        gap = min((after - before).total_seconds(), GAP_CAP_SECONDS)
        total += gap
        if after >= since:
            today += gap
    return round(total), round(today)


def _mastery(
    course: Course, store: Store, states, moment: datetime, scheduler: StudyScheduler
) -> list[ConceptMastery]:
    latest: dict[str, bool] = {}
    for answer in store.answers():
        latest[answer.question_id] = answer.correct
    scores: dict[str, list[float]] = {c: [] for c in course.syllabus.concept_ids}
    studied: dict[str, int] = {c: 0 for c in course.syllabus.concept_ids}
    for card in course.cards:
        value, seen = 0.0, card.id in states
        if seen:
            try:
                value = scheduler.retrievability(loads_state(states[card.id][0]), moment)
            except ValueError:
                seen = False
        for concept in card.concepts:
            if concept in scores:
                scores[concept].append(value)
                studied[concept] += seen
    for question in course.questions:
        seen = question.id in latest
        for concept in question.concepts:
            if concept in scores:
                scores[concept].append(1.0 if latest.get(question.id) else 0.0)
                studied[concept] += seen
    result = [ConceptMastery(c, sum(v) / len(v) if v else 0.0, len(v), studied[c]) for c, v in scores.items()]
    return sorted(result, key=lambda m: (m.mastery, m.concept))


def study_stats(
    course: Course, store: Store, now: datetime | None = None, tz: tzinfo | None = None
) -> StudyStats:
    """Everything the Stats screen and `genai-tutor stats --json` show, computed from the
    store at `now`, with days counted in `tz` (default: the machine's zone)."""
    moment = utc(now) if now is not None else datetime.now(timezone.utc)
    zone = _zone(tz)
    today = moment.astimezone(zone).date()
    settings = load_settings(store)
    states = store.card_states()
    ids = {card.id for card in study_deck(course, store)}
    log = store.review_log_full()
    start, heat = _heatmap(log, today, zone)
    times = store.activity_times()
    midnight = datetime.combine(today, datetime.min.time(), tzinfo=zone)
    seconds, seconds_today = _time_studied(times, midnight)
    concepts = _mastery(course, store, states, moment, StudyScheduler(settings.desired_retention))
    days = {t.astimezone(zone).date() for t in times}
    return StudyStats(
        today=today,
        forecast=_forecast(states, ids, today, zone),
        retention=_retention(log, today, zone),
        heatmap_start=start,
        heatmap=heat,
        reviews_total=len(log),
        seconds_studied=seconds,
        seconds_today=seconds_today,
        concepts=concepts,
        weakest=[m.concept for m in concepts if m.studied][:WEAKEST],
        desired_retention=settings.desired_retention,
        new_per_day=settings.new_per_day,
        streak_days=study_streak(days, today) if settings.show_streak else None,
    )

"""What a job schedule decides, with no I/O and no clock of its own: the
scheduler feeds it the schedule, the last scheduled time it handled and "now",
and gets back which scheduled times to fire and which to record as missed.

- A schedule is a cron expression of 5 fields (minute first) or 6 (seconds
  first, as Quartz and xxl-job write them), read in an IANA time zone with
  croniter.
- Daylight-saving time: a wall-clock time that does not exist (the spring
  gap) fires once at the first instant after it; one that happens twice (the
  autumn overlap) fires once, at its first occurrence.
- Misfire: a scheduled time more than `misfire_threshold_s` in the past when
  the scheduler sees it (it was down, or paused) is a misfire.
  `fire_once` fires the newest misfired time once and records the others as
  missed; `skip` records them all as missed; `catch_up` fires them oldest
  first, at most `max_catch_up`, and records the rest as missed.
- Concurrency: what a due run does while the schedule's previous run is still
  going (`allow`, `forbid`, `replace`), see `concurrency_action`.
- Jitter: a run fires up to `jitter_s` after its scheduled time, by an offset
  derived from the schedule's name and the time, so that every scheduler
  (and a restarted one) agrees on it.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

MISFIRE_POLICIES = ("fire_once", "skip", "catch_up")
CONCURRENCY_POLICIES = ("allow", "forbid", "replace")

# A scheduler that was away for long does not walk every missed second: past
# this many misfired times, only the newest is recorded (with a note).
MAX_TIMES_PER_STEP = 1000


@dataclass(frozen=True)
class ScheduleSpec:
    """The timing part of a schedule (what `create_schedule` validated)."""

    name: str
    cron: str
    timezone: str = "UTC"
    misfire_policy: str = "fire_once"
    misfire_threshold_s: float = 60.0
    max_catch_up: int = 10
    concurrency_policy: str = "allow"
    start_deadline_s: Optional[float] = None
    jitter_s: float = 0.0

    def validate(self) -> None:
        """Raises ValueError naming the field that is wrong."""
        if not isinstance(self.name, str) or not self.name or "/" in self.name:
            raise ValueError(f"schedule name must be a non-empty string without '/', "
                             f"got {self.name!r}")
        parse_cron(self.cron)
        zone(self.timezone)
        if self.misfire_policy not in MISFIRE_POLICIES:
            raise ValueError(f"misfire_policy must be one of {', '.join(MISFIRE_POLICIES)}, "
                             f"got {self.misfire_policy!r}")
        if self.concurrency_policy not in CONCURRENCY_POLICIES:
            raise ValueError(f"concurrency_policy must be one of "
                             f"{', '.join(CONCURRENCY_POLICIES)}, got {self.concurrency_policy!r}")
        _check_number("misfire_threshold_s", self.misfire_threshold_s, minimum=0)
        _check_number("jitter_s", self.jitter_s, minimum=0)
        if self.start_deadline_s is not None:
            _check_number("start_deadline_s", self.start_deadline_s, minimum=0, strict=True)
        if isinstance(self.max_catch_up, bool) or not isinstance(self.max_catch_up, int) \
                or self.max_catch_up < 1:
            raise ValueError(f"max_catch_up must be an integer >= 1, got {self.max_catch_up!r}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ScheduleSpec":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def _check_number(name: str, value: Any, minimum: float, strict: bool = False) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and \
        (value > minimum if strict else value >= minimum)
    if not ok:
        raise ValueError(f"{name} must be a number {'>' if strict else '>='} {minimum}, "
                         f"got {value!r}")


def parse_cron(expression: str) -> bool:
    """Checks a 5- or 6-field cron expression; True when it has seconds.
    Raises ValueError naming the expression."""
    if not isinstance(expression, str):
        raise ValueError(f"cron must be a string, got {expression!r}")
    fields = expression.split()
    if len(fields) not in (5, 6):
        raise ValueError(f"cron expression {expression!r} must have 5 fields (minute hour "
                         f"day month weekday) or 6 (seconds first), not {len(fields)}")
    seconds = len(fields) == 6
    if not croniter.is_valid(expression, second_at_beginning=seconds):
        raise ValueError(f"cron expression {expression!r} is not valid")
    return seconds


def zone(name: str) -> ZoneInfo:
    """The IANA time zone; ValueError naming it when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as e:
        raise ValueError(f"unknown time zone {name!r} (an IANA name such as 'UTC' or "
                         f"'Europe/Berlin')") from e


def _iterator(spec: ScheduleSpec, start: float) -> croniter:
    """croniter over the schedule's times, from `start` in its time zone."""
    return croniter(spec.cron, datetime.fromtimestamp(start, zone(spec.timezone)),
                    second_at_beginning=parse_cron(spec.cron))


def scheduled_times(spec: ScheduleSpec, after: float, until: float,
                    limit: int = MAX_TIMES_PER_STEP) -> tuple[list[float], bool]:
    """The schedule's times t with after < t <= until (epoch seconds), oldest
    first, at most `limit`; and whether there were more."""
    it = _iterator(spec, after)
    out: list[float] = []
    previous_wall: Optional[datetime] = None
    while True:
        t: datetime = it.get_next(datetime)
        ts = t.timestamp()
        if ts <= after:
            continue
        if ts > until:
            return out, False
        wall = t.replace(tzinfo=None)
        if wall == previous_wall:  # the autumn overlap's second occurrence
            continue
        previous_wall = wall
        if len(out) == limit:
            return out, True
        out.append(ts)


def next_time(spec: ScheduleSpec, after: float) -> float:
    """The first scheduled time after `after`."""
    it = _iterator(spec, after)
    while True:
        t = it.get_next(float)
        if t > after:
            return t


def previous_time(spec: ScheduleSpec, at_or_before: float) -> float:
    """The newest scheduled time <= `at_or_before`."""
    # croniter's get_prev is strictly before its start.
    return _iterator(spec, at_or_before + 1e-3).get_prev(float)


def jitter_offset(spec: ScheduleSpec, scheduled: float) -> float:
    """Seconds after `scheduled` that its run fires: in [0, jitter_s), the same
    in every process."""
    if spec.jitter_s <= 0:
        return 0.0
    digest = hashlib.sha256(f"{spec.name}@{scheduled:.3f}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 * spec.jitter_s


@dataclass(frozen=True)
class Decision:
    """One scheduled time's outcome: fire it, or record it as missed."""

    scheduled_time: float
    fire: bool
    reason: str = ""  # why it is missed


@dataclass
class Step:
    decisions: list[Decision] = field(default_factory=list)
    # The newest scheduled time this step handled: the next step starts after
    # it. None when nothing was due.
    handled_until: Optional[float] = None


def step(spec: ScheduleSpec, after: float, now: float) -> Step:
    """What to do with the schedule's times in (after, now]: `after` is the
    newest scheduled time already handled (or when the schedule was created
    or resumed). Times older than the misfire threshold are misfires and go
    by the misfire policy; a time on time fires once its jitter has passed;
    one whose jitter has not waits for a later step, as do the times after
    it."""
    boundary = max(after, now - spec.misfire_threshold_s)
    late, more = scheduled_times(spec, after, boundary)
    newest_late = previous_time(spec, boundary) if more else (late[-1] if late else None)
    on_time: list[float] = []
    for t in scheduled_times(spec, boundary, now)[0]:
        if t + jitter_offset(spec, t) > now:
            break
        on_time.append(t)
    decisions: list[Decision] = []
    if late:
        decisions += _misfires(spec, late, newest_late, more, fire_any=not on_time)
    decisions += [Decision(t, True) for t in on_time]
    out = Step(decisions=decisions)
    if decisions:
        out.handled_until = max(d.scheduled_time for d in decisions)
    return out


def _misfires(spec: ScheduleSpec, late: list[float], newest: float, more: bool,
              fire_any: bool) -> list[Decision]:
    """`late`: the oldest misfired times (all of them unless `more`);
    `newest`: the newest misfired time (late[-1] unless `more`)."""
    policy = spec.misfire_policy
    unrecorded = (f"; more than {MAX_TIMES_PER_STEP} earlier times were missed and not "
                  "recorded one by one") if more else ""
    if policy == "catch_up":
        fired = late[:spec.max_catch_up]
        rest = [Decision(t, False, f"misfire: beyond max_catch_up={spec.max_catch_up} "
                                   "(misfire_policy=catch_up)") for t in late[len(fired):]]
        if more:
            rest.append(Decision(newest, False, "misfire: beyond max_catch_up="
                                                f"{spec.max_catch_up} (misfire_policy=catch_up)"
                                                + unrecorded))
        return [Decision(t, True) for t in fired] + rest
    if policy == "skip":
        reason = "misfire: skipped (misfire_policy=skip)"
    elif fire_any:
        reason = "misfire: only the newest missed time runs (misfire_policy=fire_once)"
    else:
        reason = "misfire: a run on time follows (misfire_policy=fire_once)"
    missed = [Decision(t, False, reason) for t in late if t != newest]
    fire_newest = policy == "fire_once" and fire_any
    return missed + [Decision(newest, fire_newest, "" if fire_newest else reason + unrecorded)]


def concurrency_action(policy: str, previous_running: bool) -> str:
    """What a due run does: "start"; "skip" (forbid, while the previous run
    is going); or "replace" (stop the previous run, then start)."""
    if not previous_running or policy == "allow":
        return "start"
    return "skip" if policy == "forbid" else "replace"


def utc_iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat()

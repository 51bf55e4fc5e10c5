"""The job-schedule policies with an injected clock: no processes, no
sleeps. Times are epoch seconds; `step(spec, after, now)` is what the
scheduler calls on each tick."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from comet.dashboard.schedule_policy import (
    MAX_TIMES_PER_STEP, ScheduleSpec, concurrency_action, jitter_offset, next_time,
    scheduled_times, step)

T = datetime(2026, 1, 5, 12, 0, tzinfo=timezone.utc).timestamp()  # a whole minute
MINUTE = 60


def fired(s) -> list[float]:
    return [d.scheduled_time for d in s.decisions if d.fire]


def missed(s) -> list[float]:
    return [d.scheduled_time for d in s.decisions if not d.fire]


@pytest.mark.parametrize("field,value,needle", [
    ("cron", "* * * *", "5 fields"),
    ("cron", "* * * * * * *", "5 fields"),
    ("cron", "61 * * * *", "not valid"),
    ("cron", 5, "string"),
    ("timezone", "Mars/Olympus", "Mars/Olympus"),
    ("misfire_policy", "sometimes", "misfire_policy"),
    ("concurrency_policy", "queue", "concurrency_policy"),
    ("max_catch_up", 0, "max_catch_up"),
    ("misfire_threshold_s", -1, "misfire_threshold_s"),
    ("start_deadline_s", 0, "start_deadline_s"),
    ("jitter_s", "1", "jitter_s"),
    ("name", "a/b", "name"),
])
def test_bad_fields_are_refused_naming_them(field, value, needle):
    spec = ScheduleSpec(name="s", cron="* * * * *")
    with pytest.raises(ValueError, match=needle.replace("*", r"\*")):
        ScheduleSpec(**{**spec.to_dict(), field: value}).validate()


def test_a_seconds_schedule_fires_each_time_once():
    spec = ScheduleSpec(name="s", cron="*/10 * * * * *")
    first = step(spec, T, T + 35)
    assert fired(first) == [T + 10, T + 20, T + 30] and missed(first) == []
    assert first.handled_until == T + 30
    # The next tick starts after what was handled: nothing twice.
    second = step(spec, first.handled_until, T + 41)
    assert fired(second) == [T + 40]
    assert step(spec, T + 40, T + 45).decisions == []
    assert next_time(spec, T + 45) == T + 50


def test_fire_once_runs_the_newest_misfire_only_when_no_run_is_on_time():
    spec = ScheduleSpec(name="s", cron="* * * * *", misfire_threshold_s=10)
    # Down for 10.5 minutes: minutes 1..10 are all misfires.
    s = step(spec, T, T + 10 * MINUTE + 30)
    assert fired(s) == [T + 10 * MINUTE]
    assert missed(s) == [T + i * MINUTE for i in range(1, 10)]
    assert all("fire_once" in d.reason for d in s.decisions if not d.fire)
    # With a run on time, every misfire is recorded and only that one runs.
    s = step(spec, T, T + 10 * MINUTE + 5)
    assert fired(s) == [T + 10 * MINUTE]
    assert missed(s) == [T + i * MINUTE for i in range(1, 10)]


def test_skip_records_every_misfire_and_runs_none():
    spec = ScheduleSpec(name="s", cron="* * * * *", misfire_policy="skip",
                        misfire_threshold_s=10)
    s = step(spec, T, T + 5 * MINUTE + 30)
    assert fired(s) == []
    assert missed(s) == [T + i * MINUTE for i in range(1, 6)]
    assert s.handled_until == T + 5 * MINUTE


def test_catch_up_runs_the_oldest_misfires_up_to_its_bound():
    spec = ScheduleSpec(name="s", cron="* * * * *", misfire_policy="catch_up",
                        max_catch_up=3, misfire_threshold_s=10)
    s = step(spec, T, T + 5 * MINUTE + 30)
    assert fired(s) == [T + MINUTE, T + 2 * MINUTE, T + 3 * MINUTE]
    assert missed(s) == [T + 4 * MINUTE, T + 5 * MINUTE]
    assert all("max_catch_up=3" in d.reason for d in s.decisions if not d.fire)


@pytest.mark.parametrize("policy", ["fire_once", "skip", "catch_up"])
def test_a_long_outage_is_not_walked_second_by_second(policy):
    spec = ScheduleSpec(name="s", cron="* * * * * *", misfire_policy=policy,
                        misfire_threshold_s=5, max_catch_up=2)
    now = T + 3600
    s = step(spec, T, now)
    assert len([d for d in s.decisions if d.scheduled_time <= now - 5]) <= MAX_TIMES_PER_STEP + 1
    newest = [d for d in s.decisions if d.scheduled_time == now - 5]
    # Runs on time follow, so no policy runs the newest misfire; it says why.
    assert len(newest) == 1 and not newest[0].fire
    assert "not recorded one by one" in newest[0].reason
    assert s.handled_until == now
    # Times on time (the last five seconds) still fire.
    assert set(fired(s)) >= {now - 4, now - 3, now - 2, now - 1, now}
    assert len(set(d.scheduled_time for d in s.decisions)) == len(s.decisions)


def _berlin(*args) -> float:
    return datetime(*args, tzinfo=ZoneInfo("Europe/Berlin")).timestamp()


def test_daylight_saving_changes_fire_each_wall_clock_time_once():
    spec = ScheduleSpec(name="s", cron="30 2 * * *", timezone="Europe/Berlin")
    # Spring: 02:30 on 29 March does not exist; it runs at 03:00 local.
    spring, more = scheduled_times(spec, _berlin(2026, 3, 28, 12), _berlin(2026, 3, 30, 12))
    assert not more
    assert [datetime.fromtimestamp(t, ZoneInfo("Europe/Berlin")).strftime("%d %H:%M %Z")
            for t in spring] == ["29 03:00 CEST", "30 02:30 CEST"]
    # Autumn: 02:30 on 25 October happens twice; it runs once, the first time.
    autumn, _ = scheduled_times(spec, _berlin(2026, 10, 24, 12), _berlin(2026, 10, 26, 12))
    assert [datetime.fromtimestamp(t, ZoneInfo("Europe/Berlin")).strftime("%d %H:%M %Z")
            for t in autumn] == ["25 02:30 CEST", "26 02:30 CET"]
    # A time zone is honoured at all: 02:30 Berlin is 01:30 UTC in winter.
    assert datetime.fromtimestamp(autumn[1], timezone.utc).hour == 1


def test_jitter_delays_a_run_by_the_same_offset_everywhere():
    spec = ScheduleSpec(name="nightly", cron="* * * * *", jitter_s=30)
    offset = jitter_offset(spec, T + MINUTE)
    assert 0 <= offset < 30
    assert offset == jitter_offset(ScheduleSpec(**spec.to_dict()), T + MINUTE)
    assert step(spec, T, T + MINUTE + offset - 0.01).decisions == []
    assert fired(step(spec, T, T + MINUTE + offset)) == [T + MINUTE]
    assert jitter_offset(ScheduleSpec(name="n", cron="* * * * *"), T) == 0


@pytest.mark.parametrize("policy,running,action", [
    ("allow", True, "start"), ("forbid", True, "skip"), ("replace", True, "replace"),
    ("forbid", False, "start"), ("replace", False, "start")])
def test_concurrency_policies(policy, running, action):
    assert concurrency_action(policy, running) == action


def test_a_spec_round_trips_through_its_dict():
    spec = ScheduleSpec(name="s", cron="0 3 * * *", timezone="Asia/Tokyo",
                        misfire_policy="catch_up", max_catch_up=4, start_deadline_s=30.0)
    spec.validate()
    assert ScheduleSpec.from_dict({**spec.to_dict(), "unknown": 1}) == spec


def test_fire_once_after_a_long_outage_runs_the_newest_missed_time():
    spec = ScheduleSpec(name="s", cron="*/2 * * * * *", misfire_threshold_s=1)
    now = T + 7201  # 3600 misfires, none on time
    s = step(spec, T, now)
    assert fired(s) == [T + 7200]
    assert len(missed(s)) == MAX_TIMES_PER_STEP
    assert s.handled_until == T + 7200

// Schedules: the job server's cron schedules with their next fire time, and
// for each its last runs (status, a link to the run's job, why a run was
// skipped or missed) and pause/resume/delete buttons.
import { api } from "../api";
import { Card, PageHeader, PollView, StatusBadge } from "../components/common";
import { useAction } from "../components/useAction";
import { formatTime } from "../format";
import { usePoll } from "../poll";
import type { ScheduleInfo, ScheduleRun } from "../types";

const RUNS_SHOWN = 10;

function Runs({ name }: { name: string }) {
  const runs = usePoll((s) => api.scheduleRuns(name, RUNS_SHOWN, s), name);
  return (
    <PollView polled={runs} what="runs">
      {(rows: ScheduleRun[]) =>
        rows.length === 0 ? (
          <div class="muted">No runs yet.</div>
        ) : (
          <table class="table" data-testid="schedule-runs">
            <thead>
              <tr><th>Scheduled</th><th>Run</th><th>Job</th><th>Why</th></tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.scheduled_time}>
                  <td>{formatTime(r.scheduled_time * 1000)}</td>
                  <td><StatusBadge state={r.status} /></td>
                  <td>
                    {r.submission_id ? (
                      <>
                        <a class="mono" href={`/jobs/${r.submission_id}`}>{r.submission_id}</a>{" "}
                        {r.job_status && <StatusBadge state={r.job_status} />}
                      </>
                    ) : "–"}
                  </td>
                  <td class="muted">{r.reason || ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )
      }
    </PollView>
  );
}

function ScheduleCard({ schedule, onChange }: { schedule: ScheduleInfo; onChange: () => void }) {
  const { busy, error, act } = useAction(onChange);
  const name = schedule.name;
  return (
    <Card
      title={
        <span data-schedule={name}>
          {name} <StatusBadge state={schedule.paused ? "PAUSED" : "ACTIVE"} />
        </span>
      }
      actions={
        <>
          {error && <span class="error-text">{error.message}</span>}
          <button class="button" disabled={busy} data-testid="schedule-toggle"
            onClick={() => act(() => (schedule.paused ? api.resumeSchedule(name) : api.pauseSchedule(name)))}>
            {schedule.paused ? "Resume" : "Pause"}
          </button>{" "}
          <button class="button danger" disabled={busy} data-testid="schedule-delete"
            onClick={() => act(() => api.deleteSchedule(name))}>
            Delete
          </button>
        </>
      }
    >
      <div class="node-meta">
        <span class="mono">{schedule.cron}</span>
        <span>{schedule.timezone}</span>
        <span>
          Next run{" "}
          <span data-testid="schedule-next">
            {schedule.next_run_time ? formatTime(schedule.next_run_time * 1000) : "– (paused)"}
          </span>
        </span>
        <span>misfire: {schedule.misfire_policy}</span>
        <span>overlap: {schedule.concurrency_policy}</span>
        <span class="mono">{schedule.entrypoint}</span>
      </div>
      <Runs name={name} />
    </Card>
  );
}

export function SchedulesPage() {
  const schedules = usePoll(api.schedules);
  return (
    <div data-page="schedules">
      <PageHeader title="Schedules" />
      <PollView polled={schedules} what="schedules">
        {(rows: ScheduleInfo[]) =>
          rows.length === 0 ? (
            <Card>
              <div class="muted">
                No schedules. Create one with <span class="mono">comet job schedule create</span> or{" "}
                <span class="mono">JobSubmissionClient.create_schedule</span>.
              </div>
            </Card>
          ) : (
            <>
              {rows.map((s) => <ScheduleCard key={s.name} schedule={s} onChange={schedules.refresh} />)}
            </>
          )
        }
      </PollView>
    </div>
  );
}

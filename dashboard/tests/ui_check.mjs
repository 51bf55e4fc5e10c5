// Drives headless Chromium through every page of a running dashboard, checks
// that the cluster's live data shows up, and saves a screenshot of each page.
//
//   node tests/ui_check.mjs --url http://127.0.0.1:8265 --out DIR --expect FILE.json
//
// FILE.json names what must appear:
//   {"node_id": "...", "actor_class": "Counter", "job_id": "cometsubmit_...",
//    "job_log_line": "...", "job_tick_prefix": "tick ", "task_names": ["square"],
//    "object_id": "hex id of an object a driver holds", "placement_group_name": "...",
//    "stop_job": true, "failed_task_id": "...", "task_error": "ValueError: ...",
//    "actor_log_line": "...", "driver_job_id": "01000000"}
// job_tick_prefix: the job prints "<prefix><n>" with a growing n; the check
// waits for a larger n than the page first showed (the log is live).
// failed_task_id: a task that raised; its page must show task_error in a
// traceback. actor_log_line: printed by the actor_class actor, shown on its
// page. driver_job_id: a driver's job whose page shows the progress bar.
// The viewport is 1280 px wide and no table may need a horizontal scrollbar.
// Every key is optional. $COMET_UI_TOKEN is the cluster token: the run starts
// on the login page (a wrong token first, then this one), and ends by showing
// that a lost session sends the UI back to it. Without it (auth disabled) no
// login is expected. Chromium is Debian's (/usr/bin/chromium, or
// $CHROMIUM); playwright-core never downloads a browser. Exits 0 when every
// check passed, 1 with the failed step (and a FAILED-*.png) otherwise.
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";

const { values: args } = parseArgs({
  options: {
    url: { type: "string" },
    out: { type: "string" },
    expect: { type: "string" },
    timeout: { type: "string", default: "20000" },
  },
});
if (!args.url || !args.out) {
  console.error("usage: ui_check.mjs --url URL --out DIR [--expect FILE.json] [--timeout MS]");
  process.exit(2);
}
const base = args.url.replace(/\/+$/, "");
const expect = args.expect ? JSON.parse(readFileSync(args.expect, "utf8")) : {};
const timeout = Number(args.timeout);
mkdirSync(args.out, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
page.setDefaultTimeout(timeout);
const pageErrors = [];
const requests = [];
page.on("request", (request) => requests.push(new URL(request.url()).pathname));
/** How many requests so far went to exactly this path. */
const requestCount = (path) => requests.filter((p) => p === path).length;
page.on("pageerror", (err) => pageErrors.push(err.message));
page.on("console", (msg) => {
  if (msg.type() === "error") console.log(`[browser console] ${msg.text()}`);
});

const passed = [];
let current = "";

/** Runs one named check; the first failure ends the run. */
async function step(name, body) {
  current = name;
  const started = Date.now();
  await body();
  if (pageErrors.length) throw new Error(`uncaught error in the page: ${pageErrors.join("; ")}`);
  passed.push(name);
  console.log(`ok   ${name} (${Date.now() - started} ms)`);
}

async function shot(name) {
  await page.screenshot({ path: join(args.out, `${name}.png`), fullPage: true });
}

/** Waits until the page's main area contains the text. */
async function seeText(text, scope = "main") {
  await page.locator(scope).getByText(text, { exact: false }).first().waitFor({ state: "visible" });
}

/** Types a token into the login form and submits it. */
async function submitLogin(token) {
  await page.locator('[data-page="login"]').waitFor();
  await page.locator("#token").fill(token);
  await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: "Log in" }).click()]);
}

/** The session cookie, checked for HttpOnly and SameSite=Strict. */
async function sessionCookie() {
  const cookie = (await page.context().cookies()).find((c) => c.name === "comet_session");
  if (!cookie) throw new Error("no comet_session cookie after logging in");
  if (!cookie.httpOnly || cookie.sameSite !== "Strict") {
    throw new Error(`the session cookie is not HttpOnly + SameSite=Strict: ${JSON.stringify(cookie)}`);
  }
  if (cookie.value === token) throw new Error("the session cookie is the token itself");
  return cookie;
}

const token = process.env.COMET_UI_TOKEN ?? "";

/** Fails when a table on the page is wider than its card (the page must fit 1280 px). */
async function tablesFit() {
  const wide = await page.evaluate(() =>
    [...document.querySelectorAll(".table-wrap")]
      .filter((w) => w.scrollWidth > w.clientWidth + 1)
      .map((w) => `${w.querySelector("[data-testid]")?.getAttribute("data-testid") ?? "a table"} (${w.scrollWidth} > ${w.clientWidth} px)`),
  );
  if (wide.length) throw new Error(`tables wider than the page at 1280 px: ${wide.join(", ")}`);
}

async function visit(path, pageName) {
  await page.goto(base + path);
  await page.locator(`[data-page="${pageName}"]`).waitFor();
}

try {
  if (token) {
    await step("a visit without a session lands on the login page, which takes the token", async () => {
      await page.goto(base + "/nodes");
      await page.locator('[data-page="login"]').waitFor();
      if (new URL(page.url()).pathname !== "/login") throw new Error(`not redirected to /login: ${page.url()}`);
      await submitLogin("not-the-cluster-token-0123456789");
      await page.locator("p.error").getByText("not this cluster's token").waitFor();
      await shot("login");
      await submitLogin(token);
      await page.locator('[data-page="nodes"]').waitFor();  // back where the visit started
      await sessionCookie();
    });
  }

  await step("overview shows nodes, resources and charts", async () => {
    await visit("/", "overview");
    await seeText("Cluster resources");
    await page.locator(".stat-value").first().waitFor();
    const nodes = Number(await page.locator(".stat").filter({ hasText: "Nodes" }).locator(".stat-value").innerText());
    if (!(nodes >= 1)) throw new Error(`overview shows ${nodes} nodes`);
    await page.locator(".usage").filter({ hasText: "CPU" }).first().waitFor();
    // A chart line needs samples from the metrics history.
    await page.locator('.chart svg[aria-label="CPU in use"] polyline').waitFor();
    if (expect.task_names?.length) {
      // Tasks ran, so the tasks-by-state chart has at least one line.
      await page.locator('.chart svg[aria-label="Tasks by state"] polyline').first().waitFor();
    }
    await seeText("127.0.0.1", ".topbar");
    await shot("overview");
  });

  await step("overview refreshes by itself every 2 s", async () => {
    const before = requestCount("/api/metrics/history");
    const deadline = Date.now() + 7000;
    while (requestCount("/api/metrics/history") < before + 2) {
      if (Date.now() > deadline) throw new Error("the overview did not poll the metrics history again");
      await page.waitForTimeout(250);
    }
  });

  await step("nodes list shows the node id and usage bars", async () => {
    await visit("/nodes", "nodes");
    if (expect.node_id) await page.locator(`[data-node-id="${expect.node_id}"]`).waitFor();
    await page.locator(".node-card .usage").first().waitFor();
    // The machine's own figures, read by the raylet: CPU percent and memory.
    const hardware = page.locator('.node-card [data-testid="node-hardware"]').first();
    await hardware.waitFor();
    const hwText = await hardware.innerText();
    if (!/Machine CPU \(\d+ CPUs\)/.test(hwText) || !/\d+%/.test(hwText) || !/Machine memory/.test(hwText)) {
      throw new Error(`node hardware shows: ${hwText}`);
    }
    // The memory monitor's kill count (none on the test's cluster).
    const kills = await hardware.locator('[data-testid="oom-kills"]').innerText();
    if (kills.trim() !== "0") throw new Error(`memory-monitor kills shows: ${kills}`);
    await tablesFit();
    await shot("nodes");
  });

  await step("node page lists workers and log files, and shows a log", async () => {
    const link = expect.node_id
      ? page.locator(`[data-node-id="${expect.node_id}"]`)
      : page.locator("[data-node-id]").first();
    await link.click();
    await page.locator('[data-page="node-detail"]').waitFor();
    await page.locator('[data-testid="workers-table"] tbody tr td.table-empty, [data-testid="workers-table"] tbody tr td .mono').first().waitFor();
    const files = page.locator('[data-testid="log-files"] tbody a');
    await files.first().waitFor();
    const names = await files.allInnerTexts();
    const pick = names.find((n) => n.startsWith("raylet")) ?? names[0];
    await files.filter({ hasText: pick }).first().click();
    await page.locator('[data-testid="log-file-content"]').waitFor();
    await page.waitForFunction(
      () => (document.querySelector('[data-testid="log-file-content"]')?.textContent ?? "").length > 0,
    );
    await tablesFit();
    await shot("node-detail");
  });

  await step("actors table shows the actor and filters", async () => {
    await visit("/actors", "actors");
    const table = page.locator('[data-testid="actors-table"]');
    if (expect.actor_class) {
      await table.getByText(expect.actor_class).first().waitFor();
      await tablesFit();
      await shot("actors");
      const filter = page.getByPlaceholder(/Filter by id/);
      await filter.fill("no-such-actor-xyz");
      await seeText("No actor matches the filter.");
      await filter.fill(expect.actor_class);
      await table.getByText(expect.actor_class).first().waitFor();
    } else {
      await table.waitFor();
      await tablesFit();
      await shot("actors");
    }
  });

  await step("tasks table and timeline", async () => {
    await visit("/tasks", "tasks");
    const table = page.locator('[data-testid="tasks-table"]');
    for (const name of expect.task_names ?? []) await table.getByText(name, { exact: true }).first().waitFor();
    await tablesFit();
    await shot("tasks");
    await page.getByRole("tab", { name: "Timeline" }).click();
    await page.locator('[data-testid="task-timeline"] svg rect[rx]').first().waitFor();
    await shot("tasks-timeline");
  });

  if (expect.failed_task_id) {
    await step("task page shows the error and its traceback", async () => {
      await visit("/tasks?state=FAILED", "tasks");
      await page.locator(`[data-testid="tasks-table"] a[data-task-id="${expect.failed_task_id}"]`).first().click();
      await page.locator('[data-page="task-detail"]').waitFor();
      const error = page.locator('[data-testid="task-error"]').first();
      await error.waitFor();
      const text = await error.innerText();
      // Ray's error_message: where it ran (pid=), the user's frames, the exception's line.
      if (!/pid=\d+/.test(text) || !text.includes('File "') || (expect.task_error && !text.includes(expect.task_error))) {
        throw new Error(`the task's error shows: ${text.slice(0, 300)}`);
      }
      await page.getByRole("link", { name: "Worker log" }).first().waitFor();
      await shot("task-detail");
    });
  }

  if (expect.actor_class) {
    await step("actor page shows its facts, its log and its tasks", async () => {
      await visit("/actors", "actors");
      await page.locator('[data-testid="actors-table"]').getByRole("link", { name: expect.actor_class }).first().click();
      await page.locator('[data-page="actor-detail"]').waitFor();
      await seeText(expect.actor_class);
      if (expect.actor_log_line) {
        await page.locator('[data-testid="log-file-content"]').getByText(expect.actor_log_line).first().waitFor();
      }
      await page.locator('[data-testid="actor-tasks"] tbody a[data-task-id]').first().waitFor();
      await tablesFit();
      await shot("actor-detail");
    });
  }

  await step("logs page lists every node's files and shows one", async () => {
    await visit("/logs", "logs");
    const files = page.locator('[data-testid="log-files"] tbody a.mono');
    await files.first().waitFor();
    const names = await files.allInnerTexts();
    const pick = names.find((n) => n.startsWith("gcs_server")) ?? names[0];
    const filter = page.getByPlaceholder(/Filter by file name/);
    await filter.fill("no-such-log-file-xyz");
    await seeText("No log file matches the filter.");
    await filter.fill(pick);
    await files.filter({ hasText: pick }).first().click();
    await page.waitForFunction(
      () => (document.querySelector('[data-testid="log-file-content"]')?.textContent ?? "").length > 0,
    );
    if (!new URL(page.url()).searchParams.get("file")) throw new Error(`the chosen file is not in the URL: ${page.url()}`);
    await tablesFit();
    await shot("logs");
  });

  if (expect.driver_job_id) {
    await step("job page shows progress by task state and links to its tasks", async () => {
      await visit(`/jobs/${expect.driver_job_id}`, "job-detail");
      const bar = page.locator('[data-testid="job-progress"]');
      await bar.locator('.progress-part[data-state="FINISHED"]').waitFor();
      await shot("job-progress");
      await page.locator('[data-testid="job-tasks-link"]').click();
      await page.locator('[data-page="tasks"] [data-testid="job-filter"]').waitFor();
      await page.locator('[data-testid="tasks-table"] tbody a[data-task-id]').first().waitFor();
      const jobs = await page.evaluate(async (job) => {
        const reply = await (await fetch(`/api/tasks?job_id=${job}`)).json();
        return reply.tasks.length;
      }, expect.driver_job_id);
      const rows = await page.locator('[data-testid="tasks-table"] tbody tr').count();
      if (rows > jobs) throw new Error(`the filtered table shows ${rows} rows, the job has ${jobs} tasks`);
      await page.goBack();
      await page.locator('[data-testid="job-actors-link"]').click();
      await page.locator('[data-page="actors"] [data-testid="job-filter"]').waitFor();
      if (expect.actor_class) await page.locator('[data-testid="actors-table"]').getByText(expect.actor_class).first().waitFor();
    });
  }

  await step("objects page shows references and object stores", async () => {
    await visit("/objects", "objects");
    await page.locator('[data-testid="object-stores-table"] .usage').first().waitFor();
    const table = page.locator('[data-testid="objects-table"]');
    if (expect.object_id) await table.locator(`[title="${expect.object_id}"]`).first().waitFor();
    else await table.waitFor();
    await tablesFit();
    await shot("objects");
  });

  await step("placement groups table", async () => {
    await visit("/placement-groups", "placement-groups");
    const table = page.locator('[data-testid="placement-groups-table"]');
    await table.waitFor();
    if (expect.placement_group_name) await table.getByText(expect.placement_group_name).first().waitFor();
    await tablesFit();
    await shot("placement-groups");
  });

  await step("jobs list shows the submitted job", async () => {
    await visit("/jobs", "jobs");
    const table = page.locator('[data-testid="jobs-table"]');
    if (expect.job_id) await table.getByText(expect.job_id).first().waitFor();
    await tablesFit();
    await shot("jobs");
  });

  if (expect.job_id) {
    await step("job page streams the driver log", async () => {
      await page.locator('[data-testid="jobs-table"]').getByText(expect.job_id).first().click();
      await page.locator('[data-page="job-detail"]').waitFor();
      await seeText(expect.job_id);
      const log = page.locator('[data-testid="job-log"]');
      if (expect.job_log_line) await log.getByText(expect.job_log_line).first().waitFor();
      if (expect.job_tick_prefix) {
        const ticks = (text) =>
          Math.max(-1, ...[...text.matchAll(new RegExp(`${expect.job_tick_prefix}(\\d+)`, "g"))].map((m) => Number(m[1])));
        const first = ticks(await log.innerText());
        await log.getByText(`${expect.job_tick_prefix}${first + 2}`).first().waitFor();
      }
      if (!requests.some((p) => p.endsWith("/logs/tail"))) throw new Error("the page did not stream the log");
      await shot("job-detail");
    });
  }

  if (expect.job_id && expect.stop_job) {
    await step("stop button stops the job", async () => {
      const stop = page.getByRole("button", { name: "Stop job" });
      await stop.click();
      await page.locator(".facts .badge").getByText("STOPPED").waitFor();
      if (!(await stop.isDisabled())) throw new Error("the stop button is still enabled after the job stopped");
      await shot("job-stopped");
    });
  }

  await step("schedules page shows a schedule's next run and runs, pauses, resumes and deletes it", async () => {
    const name = `ui-check-${Date.now()}`;
    const created = await page.evaluate(async (name) => {
      const reply = await fetch("/api/schedules/", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ name, cron: "*/2 * * * * *", entrypoint: "true", concurrency_policy: "forbid" }),
      });
      return reply.status;
    }, name);
    if (created !== 200) throw new Error(`creating a schedule answered ${created}`);
    await visit("/schedules", "schedules");
    const card = page.locator(".card", { has: page.locator(`[data-schedule="${name}"]`) });
    await card.waitFor();
    const next = await card.locator('[data-testid="schedule-next"]').innerText();
    if (next.includes("paused")) throw new Error(`an active schedule shows next run: ${next}`);
    // Its runs appear, each linking to its job (after the jobs steps: these
    // jobs would widen the jobs table).
    await card.locator('[data-testid="schedule-runs"] tbody a[href^="/jobs/sched_"]').first().waitFor({ timeout: 30000 });
    await tablesFit();
    await shot("schedules");
    await card.locator('[data-testid="schedule-toggle"]').click();
    await card.locator(".badge").getByText("PAUSED").waitFor();
    await card.locator('[data-testid="schedule-next"]').getByText("paused").waitFor();
    await card.locator('[data-testid="schedule-toggle"]').getByText("Resume").click();
    await card.locator(".badge").getByText("ACTIVE").waitFor();
    await card.locator('[data-testid="schedule-delete"]').click();
    await page.locator(`[data-schedule="${name}"]`).waitFor({ state: "detached" });
  });

  await step("an API error shows a banner, and the page recovers", async () => {
    const message = "GCS is not answering (injected by ui_check)";
    await page.route("**/api/actors", (route) => route.fulfill({ status: 503, json: { error: message } }));
    await visit("/actors", "actors");
    await page.locator(".error-banner").getByText(message).waitFor();
    await shot("error-state");
    await page.unroute("**/api/actors");
    await page.locator('[data-testid="actors-table"]').waitFor();
    await page.locator(".error-banner").waitFor({ state: "detached" });
  });

  await step("unknown path gets the app's not-found page", async () => {
    await page.goto(`${base}/no/such/page`);
    await page.locator('[data-page="not-found"]').waitFor();
    await seeText("No page at");
    await page.locator("h1").getByText("Not found").waitFor();
    await page.locator(".sidebar .nav-link").first().waitFor();  // inside the app's frame
    await shot("not-found");
  });

  if (token) {
    await step("a page whose session is gone goes to the login page and back", async () => {
      await visit("/", "overview");
      await page.context().clearCookies();  // the next poll gets 401
      await page.locator('[data-page="login"]').waitFor();
      await submitLogin(token);
      await page.locator('[data-page="overview"]').waitFor();
      await sessionCookie();
    });

    await step("logging out ends the session", async () => {
      // Leave the app first: a poll of the page still open could answer 401
      // mid-navigation and start a navigation of its own.
      await page.goto("about:blank");
      await page.goto(`${base}/logout`);
      await page.locator('[data-page="login"]').waitFor();
      if ((await page.context().cookies()).some((c) => c.name === "comet_session")) {
        throw new Error("the session cookie survived /logout");
      }
      await page.goto(`${base}/actors`);
      await page.locator('[data-page="login"]').waitFor();
    });
  }
} catch (err) {
  console.log(`FAIL ${current}: ${err instanceof Error ? err.message.split("\n")[0] : err} (at ${page.url()})`);
  try {
    await shot(`FAILED-${current.replace(/[^a-z0-9]+/gi, "-")}`);
  } catch {
    // The failure is already reported; a missing screenshot adds nothing.
  }
  await browser.close();
  process.exit(1);
}

await browser.close();
console.log(`all ${passed.length} checks passed; screenshots in ${args.out}`);

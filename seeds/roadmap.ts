// The platform's own roadmap (the seed's BE-00 … BE-15 plus FE-01 … FE-07) as meta-tasks, so the
// platform manages its own building. Loaded through the public API; idempotent by task code.
// Plain, erasable TypeScript: Node 22 runs it directly, and the tests import it.

export interface RoadmapItem {
  code: string;
  title: string;
  description: string;
  priority: "low" | "medium" | "high" | "critical";
  effort_hours: number;
  delegation_mode: "DO" | "DO_WITH_ME" | "DELEGATE";
  depends_on: string[];
  steps: string[];
}

const MINUTES_PER_HOUR = 60;
const STEP_MINUTES = 5;

// Dependencies exactly as the seed's graph: everything on BE-00; BE-11 on BE-02; BE-12 on BE-11; BE-13 on BE-06.
export const ROADMAP: RoadmapItem[] = [
  {
    code: "BE-00",
    title: "Task Delegation System",
    description:
      "Foundation for dogfooding: 4D delegation (DO/DO_WITH_ME/DELEGATE/DELETE), agent registration, assignments.",
    priority: "critical",
    effort_hours: 9,
    delegation_mode: "DO_WITH_ME",
    depends_on: [],
    steps: [
      "Database schema: delegation fields, task_assignments, agent_capabilities",
      "Models for delegation",
      "TaskDelegationRepository",
      "Delegation API routes (/api/v1/delegation/)",
      "15+ TDD tests (95%+ coverage)",
      "Seed script for the development tasks",
      "Agent registration and query endpoints",
    ],
  },
  {
    code: "BE-01",
    title: "Task Templates Service",
    description: "Reusable task templates with ordered steps; five defaults seeded.",
    priority: "high",
    effort_hours: 6,
    delegation_mode: "DELEGATE",
    depends_on: ["BE-00"],
    steps: [
      "task_templates and template_steps tables",
      "TemplateRepository with CRUD",
      "TemplateService for template management",
      "API routes (/api/v1/templates/)",
      "TDD tests (90%+ coverage)",
      "Seed 5 default templates",
    ],
  },
  {
    code: "BE-02",
    title: "User Pets Service (Gamification)",
    description: "A virtual pet that grows with completed work.",
    priority: "high",
    effort_hours: 8,
    delegation_mode: "DELEGATE",
    depends_on: ["BE-00"],
    steps: [
      "user_pets table (virtual pet system)",
      "PetRepository and PetService",
      "Pet evolution logic (XP to growth)",
      "Hunger/happiness mechanics",
      "API routes (/api/v1/pets/)",
      "TDD tests (90%+ coverage)",
    ],
  },
  {
    code: "BE-03",
    title: "Enhanced Focus Sessions",
    description: "Session types, break reminders and analytics.",
    priority: "medium",
    effort_hours: 5,
    delegation_mode: "DELEGATE",
    depends_on: ["BE-00"],
    steps: [
      "Extend focus_sessions table",
      "Enhanced session types (deep work, short burst)",
      "Break reminders and notifications",
      "Session analytics",
      "API routes (/api/v1/focus/enhanced/)",
      "TDD tests (90%+ coverage)",
    ],
  },
  {
    code: "BE-04",
    title: "Gamification Enhancements",
    description: "Leaderboards, daily challenges, bonus XP events, achievement tiers.",
    priority: "medium",
    effort_hours: 6,
    delegation_mode: "DELEGATE",
    depends_on: ["BE-00"],
    steps: [
      "Leaderboard system",
      "Daily challenges",
      "Bonus XP events",
      "Achievement tiers (bronze/silver/gold)",
      "API routes (/api/v1/gamification/enhanced/)",
      "TDD tests (90%+ coverage)",
    ],
  },
  {
    code: "BE-05",
    title: "Task Splitting Service",
    description: "AI-powered splitting into 2–5 minute micro-steps, with complexity analysis.",
    priority: "high",
    effort_hours: 6,
    delegation_mode: "DELEGATE",
    depends_on: ["BE-00"],
    steps: [
      "AI-powered task splitting logic",
      "Complexity analysis algorithms",
      "Micro-step generation service",
      "API routes (/api/v1/tasks/split/)",
      "TDD tests (90%+ coverage)",
    ],
  },
  {
    code: "BE-06",
    title: "Analytics & Insights Service",
    description: "Time tracking, productivity insights, patterns by time and energy.",
    priority: "medium",
    effort_hours: 6,
    delegation_mode: "DELEGATE",
    depends_on: ["BE-00"],
    steps: [
      "Time tracking analytics",
      "Productivity insights",
      "Pattern detection (best times, energy levels)",
      "API routes (/api/v1/analytics/)",
      "TDD tests (90%+ coverage)",
    ],
  },
  {
    code: "BE-07",
    title: "Notification System",
    description: "Push notifications, preferences, break reminders and deadline alerts.",
    priority: "medium",
    effort_hours: 5,
    delegation_mode: "DELEGATE",
    depends_on: ["BE-00"],
    steps: [
      "Push notification service",
      "Notification preferences",
      "Break reminders",
      "Task deadline alerts",
      "API routes (/api/v1/notifications/)",
      "TDD tests (90%+ coverage)",
    ],
  },
  {
    code: "BE-08",
    title: "Social Sharing Service",
    description: "Share achievements, generate share images, public profiles.",
    priority: "medium",
    effort_hours: 4,
    delegation_mode: "DELEGATE",
    depends_on: ["BE-00"],
    steps: [
      "Share achievements to social media",
      "Generate share images",
      "Public profile pages",
      "API routes (/api/v1/social/)",
      "TDD tests (90%+ coverage)",
    ],
  },
  {
    code: "BE-09",
    title: "Export/Import Service",
    description: "JSON/CSV export, imports from other task managers, backup and restore.",
    priority: "medium",
    effort_hours: 3,
    delegation_mode: "DELEGATE",
    depends_on: ["BE-00"],
    steps: [
      "Export tasks to JSON/CSV",
      "Import from other task managers",
      "Backup/restore functionality",
      "API routes (/api/v1/export/, /api/v1/import/)",
      "TDD tests (90%+ coverage)",
    ],
  },
  {
    code: "BE-10",
    title: "Webhooks & Integrations",
    description: "Webhooks, Zapier/IFTTT support, calendar sync.",
    priority: "low",
    effort_hours: 6,
    delegation_mode: "DELEGATE",
    depends_on: ["BE-00"],
    steps: [
      "Webhook system for external integrations",
      "Zapier/IFTTT support",
      "Calendar sync (Google, Outlook)",
      "API routes (/api/v1/webhooks/)",
      "TDD tests (90%+ coverage)",
    ],
  },
  {
    code: "BE-11",
    title: "Creature Leveling Service",
    description: "Pet evolution, level progression, stat bonuses and abilities.",
    priority: "high",
    effort_hours: 8,
    delegation_mode: "DELEGATE",
    depends_on: ["BE-02"],
    steps: [
      "Pet evolution system",
      "Level progression algorithms",
      "Stat bonuses and abilities",
      "API routes (/api/v1/pets/level/)",
      "TDD tests (90%+ coverage)",
    ],
  },
  {
    code: "BE-12",
    title: "AI Creature Generation",
    description: "AI-generated unique creatures with procedural designs and personalities.",
    priority: "low",
    effort_hours: 10,
    delegation_mode: "DELEGATE",
    depends_on: ["BE-11"],
    steps: [
      "AI-generated unique creatures",
      "Procedural design generation",
      "Personality traits system",
      "API routes (/api/v1/pets/generate/)",
      "TDD tests (90%+ coverage)",
    ],
  },
  {
    code: "BE-13",
    title: "ML Training Pipeline",
    description: "User behaviour modelling, difficulty prediction, optimal time suggestions.",
    priority: "low",
    effort_hours: 12,
    delegation_mode: "DELEGATE",
    depends_on: ["BE-06"],
    steps: [
      "User behavior modeling",
      "Task difficulty prediction",
      "Optimal time suggestion",
      "ML model training pipeline",
      "TDD tests (90%+ coverage)",
    ],
  },
  {
    code: "BE-14",
    title: "Performance Monitoring",
    description: "APM, query performance, error tracking, health dashboards.",
    priority: "low",
    effort_hours: 4,
    delegation_mode: "DELEGATE",
    depends_on: ["BE-00"],
    steps: [
      "APM integration",
      "Query performance monitoring",
      "Error tracking",
      "Health check dashboards",
      "TDD tests (90%+ coverage)",
    ],
  },
  {
    code: "BE-15",
    title: "Integration Tests",
    description: "End-to-end suite, API contract tests, load tests, CI.",
    priority: "low",
    effort_hours: 4,
    delegation_mode: "DELEGATE",
    depends_on: ["BE-00"],
    steps: [
      "End-to-end test suite",
      "API contract testing",
      "Load testing scripts",
      "CI/CD integration",
      "80%+ critical path coverage",
    ],
  },
  ...(
    [
      ["FE-01", "Capture UI", "One-line capture with parsed date, priority, tags and estimate.", ["BE-00"]],
      ["FE-02", "Scout mode", "Browse and filter tasks, including meta-tasks and ready ones.", ["BE-00"]],
      ["FE-03", "Hunter mode", "Show the one next micro-step and complete it with one tap.", ["BE-00"]],
      ["FE-04", "Mender mode", "Reschedule, shrink or re-split what stalled.", ["BE-05"]],
      ["FE-05", "Mapper mode", "Progress and insights over time.", ["BE-06"]],
      ["FE-06", "Pet and rewards UI", "The companion, XP, streaks and badges.", ["BE-02", "BE-04"]],
      ["FE-07", "Focus timer UI", "Live timers across devices with break reminders.", ["BE-03"]],
    ] as const
  ).map(
    ([code, title, description, dependsOn]): RoadmapItem => ({
      code,
      title,
      description,
      priority: "medium",
      effort_hours: 6,
      delegation_mode: "DO_WITH_ME",
      depends_on: [...dependsOn],
      steps: ["Sketch the screen", "Build the components", "Wire the API", "Test with a real user"],
    }),
  ),
];

export type Fetcher = (path: string, init?: RequestInit) => Promise<Response>;

const titleOf = (item: RoadmapItem) => `${item.code}: ${item.title}`;

async function json<T>(res: Response, what: string): Promise<T> {
  const text = await res.text();
  if (!res.ok) throw new Error(`${what} answered ${res.status}: ${text}`);
  return JSON.parse(text) as T;
}

/** Creates the roadmap's meta-tasks that are not there yet, in dependency order. Returns how many it created. */
export async function seedRoadmap(
  fetcher: Fetcher,
  token: string,
): Promise<{ created: number; existing: number }> {
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  const ids = new Map<string, string>();
  let path: string | null = "/api/v1/tasks?is_meta_task=true&limit=100";
  while (path) {
    const res = await fetcher(path, { headers });
    const link = res.headers.get("link");
    for (const task of await json<{ task_id: string; title: string }[]>(res, "listing meta-tasks")) {
      const code = /^([A-Z]{2}-\d{2}):/.exec(task.title)?.[1];
      if (code) ids.set(code, task.task_id);
    }
    path = link ? (/<([^>]+)>; rel="next"/.exec(link)?.[1] ?? null) : null;
  }
  const existing = ids.size;
  let created = 0;
  // ROADMAP lists every task after its dependencies, so one pass creates them in order.
  for (const item of ROADMAP) {
    if (ids.has(item.code)) continue;
    const res = await fetcher("/api/v1/tasks", {
      method: "POST",
      headers: { ...headers, "idempotency-key": `roadmap-${item.code}` },
      body: JSON.stringify({
        title: titleOf(item),
        description: item.description,
        priority: item.priority,
        estimated_minutes: item.effort_hours * MINUTES_PER_HOUR,
        delegation_mode: item.delegation_mode,
        is_meta_task: true,
        task_source: "roadmap",
        tags: ["roadmap", item.code.startsWith("BE") ? "backend" : "frontend"],
        depends_on: item.depends_on.map((code) => ids.get(code)).filter((id): id is string => Boolean(id)),
        micro_steps: item.steps.map((description) => ({
          description,
          estimated_minutes: STEP_MINUTES,
          leaf_type: "DIGITAL",
        })),
      }),
    });
    const task = await json<{ task_id: string }>(res, `creating ${item.code}`);
    ids.set(item.code, task.task_id);
    created += 1;
  }
  return { created, existing };
}

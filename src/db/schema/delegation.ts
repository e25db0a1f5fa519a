import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

export const AGENT_STATUSES = ["idle", "busy", "offline"] as const;
export const ASSIGNMENT_STATUSES = [
  "pending",
  "accepted",
  "in_progress",
  "completed",
  "rejected",
  "cancelled",
] as const;
export const ASSIGNMENT_ROLES = ["owner", "collaborator"] as const;
export type AgentStatus = (typeof AGENT_STATUSES)[number];
export type AssignmentStatus = (typeof ASSIGNMENT_STATUSES)[number];

/**
 * AI agents a user registered to take work. `agent_id` is chosen by the client and unique per user:
 * two accounts may both name an agent "backend-agent-1", and neither learns of the other.
 */
export const agents = sqliteTable(
  "agents",
  {
    id: text("id").primaryKey(),
    userId: text("user_id").notNull(),
    agentId: text("agent_id").notNull(),
    agentType: text("agent_type").notNull(),
    /** A display name (the original API's `agent_name`); the agent id stands in when there is none. */
    name: text("name"),
    capabilities: text("capabilities", { mode: "json" }).$type<string[]>().notNull(),
    maxConcurrentTasks: integer("max_concurrent_tasks").notNull(),
    currentTaskCount: integer("current_task_count").notNull().default(0),
    status: text("status", { enum: AGENT_STATUSES }).notNull().default("idle"),
    // The assignment id of the latest claim: lets the next statement of the same batch find the
    // agent a conditional UPDATE picked, without a read in between.
    lastClaimId: text("last_claim_id"),
    lastActiveAt: text("last_active_at").notNull(),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("agents_user_agent_unique").on(t.userId, t.agentId),
    index("agents_user_type_load").on(t.userId, t.agentType, t.currentTaskCount),
    uniqueIndex("agents_last_claim_unique").on(t.lastClaimId),
  ],
);

export const taskAssignments = sqliteTable(
  "task_assignments",
  {
    id: text("id").primaryKey(),
    userId: text("user_id").notNull(),
    taskId: text("task_id").notNull(),
    /** The agent's client id (unique within `user_id`), or null when the person does it (DO). */
    agentId: text("agent_id"),
    assignee: text("assignee").notNull(),
    role: text("role", { enum: ASSIGNMENT_ROLES }).notNull().default("owner"),
    delegationMode: text("delegation_mode").notNull(),
    status: text("status", { enum: ASSIGNMENT_STATUSES }).notNull().default("pending"),
    reason: text("reason"),
    createdAt: text("created_at").notNull(),
    acceptedAt: text("accepted_at"),
    startedAt: text("started_at"),
    completedAt: text("completed_at"),
    rejectedAt: text("rejected_at"),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    index("task_assignments_user_agent_status").on(t.userId, t.agentId, t.status),
    // `id` last: the export pages assignments by (task_id, id) with no sort.
    index("task_assignments_user_task").on(t.userId, t.taskId, t.id),
    // A task has at most one open assignment per role: the database refuses a second, even from
    // concurrent requests.
    uniqueIndex("task_assignments_one_open")
      .on(t.taskId, t.role)
      .where(sql`status IN ('pending', 'accepted', 'in_progress')`),
  ],
);

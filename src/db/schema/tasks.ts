import { sql } from "drizzle-orm";
import { check, index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const TASK_STATUSES = ["pending", "in_progress", "blocked", "completed", "cancelled"] as const;
export const TASK_PRIORITIES = ["low", "medium", "high", "critical"] as const;
export const DELEGATION_MODES = ["DO", "DO_WITH_ME", "DELEGATE", "DELETE"] as const;
export const TASK_SOURCES = ["user", "roadmap", "system", "calendar"] as const;
export const LEAF_TYPES = ["DIGITAL", "HUMAN"] as const;
export const STEP_STATUSES = ["pending", "completed", "skipped"] as const;
/** The kinds of work templates and the splitter's learning are filed under. */
export const TASK_CATEGORIES = ["Academic", "Work", "Personal", "Health", "Creative"] as const;

/** Who filed a task under its category. */
export const CATEGORY_SOURCES = ["user", "local", "ai"] as const;

export type TaskStatus = (typeof TASK_STATUSES)[number];
export type TaskPriority = (typeof TASK_PRIORITIES)[number];
export type DelegationMode = (typeof DELEGATION_MODES)[number];
export type TaskSource = (typeof TASK_SOURCES)[number];
export type LeafType = (typeof LEAF_TYPES)[number];
export type StepStatus = (typeof STEP_STATUSES)[number];
export type TaskCategory = (typeof TASK_CATEGORIES)[number];

export const tasks = sqliteTable(
  "tasks",
  {
    id: text("id").primaryKey(),
    userId: text("user_id").notNull(),
    title: text("title").notNull(),
    description: text("description"),
    status: text("status", { enum: TASK_STATUSES }).notNull().default("pending"),
    priority: text("priority", { enum: TASK_PRIORITIES }).notNull().default("medium"),
    estimatedMinutes: integer("estimated_minutes"),
    actualMinutes: integer("actual_minutes"),
    dueAt: text("due_at"),
    tags: text("tags", { mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`),
    delegationMode: text("delegation_mode", { enum: DELEGATION_MODES }).notNull().default("DO"),
    assignedTo: text("assigned_to"),
    agentType: text("agent_type"),
    isMetaTask: integer("is_meta_task", { mode: "boolean" }).notNull().default(false),
    taskSource: text("task_source", { enum: TASK_SOURCES }).notNull().default("user"),
    category: text("category", { enum: TASK_CATEGORIES }),
    /** Who chose the category: the user, the local categoriser or Workers AI (null: not known). */
    categorySource: text("category_source", { enum: CATEGORY_SOURCES }),
    /** Set on the sub-tasks a project was split into. */
    parentTaskId: text("parent_task_id"),
    completedAt: text("completed_at"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
    deletedAt: text("deleted_at"),
  },
  (t) => [
    // Every list starts with the owner; ids are UUIDv7, so id order is creation order.
    index("tasks_user_id").on(t.userId, t.id),
    index("tasks_user_status").on(t.userId, t.status),
    index("tasks_user_due").on(t.userId, t.dueAt),
    index("tasks_user_parent").on(t.userId, t.parentTaskId),
    // The reminder job's scan across all users: open tasks by due time, and nothing else.
    index("tasks_open_due")
      .on(t.dueAt)
      .where(
        sql`${t.dueAt} IS NOT NULL AND ${t.deletedAt} IS NULL AND ${t.status} IN ('pending','in_progress','blocked')`,
      ),
    check(
      "tasks_status_check",
      sql`${t.status} IN ('pending','in_progress','blocked','completed','cancelled')`,
    ),
    check("tasks_priority_check", sql`${t.priority} IN ('low','medium','high','critical')`),
    check("tasks_delegation_check", sql`${t.delegationMode} IN ('DO','DO_WITH_ME','DELEGATE','DELETE')`),
  ],
);

export const microSteps = sqliteTable(
  "micro_steps",
  {
    id: text("id").primaryKey(),
    taskId: text("task_id").notNull(),
    userId: text("user_id").notNull(),
    position: integer("position").notNull(),
    description: text("description").notNull(),
    shortLabel: text("short_label"),
    icon: text("icon"),
    estimatedMinutes: integer("estimated_minutes").notNull(),
    leafType: text("leaf_type", { enum: LEAF_TYPES }).notNull().default("HUMAN"),
    status: text("status", { enum: STEP_STATUSES }).notNull().default("pending"),
    completedAt: text("completed_at"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    index("micro_steps_task_position").on(t.taskId, t.position),
    index("micro_steps_user").on(t.userId, t.status),
    check("micro_steps_minutes_check", sql`${t.estimatedMinutes} BETWEEN 1 AND 10`),
  ],
);

/** `task_id` cannot start until `depends_on_id` is completed. Cycles are rejected on write. */
export const taskDependencies = sqliteTable(
  "task_dependencies",
  {
    taskId: text("task_id").notNull(),
    dependsOnId: text("depends_on_id").notNull(),
    userId: text("user_id").notNull(),
    createdAt: text("created_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.taskId, t.dependsOnId] }),
    index("task_dependencies_target").on(t.dependsOnId),
    // Erasing an account finds its rows by owner (src/features/account/erase-plan.ts).
    index("task_dependencies_user").on(t.userId),
  ],
);

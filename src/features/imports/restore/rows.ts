/**
 * How each exported row becomes a row of the restoring account: its owner, its ids and every id it
 * refers to mapped (ids.ts), credentials and platform-wide names handled. Pure but for hashing; the
 * writer (write.ts) inserts what this returns and lets the tables' keys refuse what exists already.
 */
import { newWebhookSecret } from "../../../lib/webhooks/signature";
import { checkHandle } from "../../social/handles";
import { type IdMapper, mapIfId, mapSourceKey } from "./ids";
import { ledgerRefusal } from "./ledger";

type Row = Record<string, unknown>;

export interface RowContext {
  /** The owner the row is written under: the import's staging owner (meta.ts), moved at the end. */
  owner: string;
  mapper: IdMapper;
  /** The `deleted_at` live tasks are written with until the last batch shows them. */
  hiddenAt: string;
  /** A new share code (codes are unique across the platform). */
  newCode: () => string;
}

/** The columns of each table that hold ids of the user's rows (mapped), beyond the owner. */
const ID_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  tasks: ["id", "parent_task_id"],
  micro_steps: ["id", "task_id"],
  task_dependencies: ["task_id", "depends_on_id"],
  task_templates: ["id"],
  template_steps: ["id", "template_id"],
  // agent_id is a name the client chose (unique per user, and what `assignee` and tasks.assigned_to
  // say): it is kept as it is.
  agents: ["id"],
  task_assignments: ["id", "task_id"],
  // `author` is "owner" or `agent:<agent_id>`, kept as it is (as agents.agent_id is).
  assignment_notes: ["id", "assignment_id"],
  focus_sessions: ["id", "task_id", "step_id"],
  user_pets: ["id"],
  pet_interactions: ["id", "pet_id"],
  xp_ledger: ["id"],
  notifications: ["id", "digest_id"],
  webhooks: ["id"],
  calendar_imports: ["task_id"],
  energy_checkins: ["id"],
  analytics_task_times: ["task_id"],
  task_splits: ["id", "task_id", "step_id"],
  step_feedback: ["step_id", "task_id"],
  learning_models: ["id"],
  prediction_log: ["id", "model_id"],
  social_shares: ["id"],
};

/** Tables whose rows carry no `user_id` column (owned through their parent). */
const WITHOUT_OWNER = new Set(["template_steps"]);

/** The restored row, or null to leave it out. */
export async function restoredRow(table: string, row: Row, ctx: RowContext): Promise<Row | null> {
  // The pet's row is its Durable Object's: the object restored from the live state writes it (with the
  // id it keeps); a staged copy under the same id would take the object's write and then be dropped.
  if (table === "user_pets") return null;
  const out: Row = { ...row };
  if (!WITHOUT_OWNER.has(table)) out.user_id = ctx.owner;
  for (const column of ID_COLUMNS[table] ?? []) {
    const value = out[column];
    if (typeof value === "string") out[column] = await ctx.mapper.map(value);
  }
  switch (table) {
    case "tasks":
      // Hidden until the last batch: a job stopped halfway shows nothing.
      if (out.deleted_at === null || out.deleted_at === undefined) out.deleted_at = ctx.hiddenAt;
      break;
    case "task_templates":
      // A code-listed template is listed by its share code, which is not restored.
      out.listed_by_code = 0;
      // Private, and unused: public lists read every user's templates, staged ones included (review2
      // H3), and `uses`/`times_applied` count other people's imports and applications (H1).
      out.is_public = 0;
      out.uses = 0;
      out.times_applied = 0;
      break;
    case "agents":
      // Its claim bookkeeping named work of the old account; its tokens were never exported.
      out.last_claim_id = null;
      // Offline (its tokens were never exported, so it cannot be online), and no slot taken until the
      // last batch counts its restored in-progress assignments: the agent sweeper scans every user's
      // online agents, staged ones included (review2 H3, and the Low on agent slots).
      out.status = "offline";
      out.current_task_count = 0;
      break;
    case "notifications":
      // Delivered, and never pushed: a restored notification is history (pushing it now would be
      // late), and the notification sweeps scan every user's deferred, folded and pending rows, staged
      // ones included (review2 H3).
      if (out.status === "deferred" || out.status === "folded") out.status = "delivered";
      if (out.push_state === "pending") out.push_state = "done";
      break;
    case "xp_ledger":
      // Only what a grant rule could have paid (review2 H1: ledger.ts); the preview lists the rest.
      if (ledgerRefusal(row) !== null) return null;
      out.source_key = await mapSourceKey(ctx.mapper, String(row.source_key));
      // The outbox event it came from is not restored (events are never replayed).
      out.event_id = null;
      break;
    case "webhooks":
      // Never exported: a new secret, and the endpoint waits disabled until its owner turns it on
      // (after giving the receiver the new secret), so nothing is sent to a receiver unprepared.
      out.secret = newWebhookSecret();
      out.previous_secret = null;
      out.previous_secret_expires_at = null;
      out.enabled = 0;
      out.disabled_reason = RESTORED_WEBHOOK_REASON;
      out.consecutive_failures = 0;
      out.failing_since = null;
      break;
    case "prediction_log":
      out.subject = await mapIfId(ctx.mapper, row.subject);
      break;
    case "social_shares":
      out.code = ctx.newCode();
      out.ref_id = await mapIfId(ctx.mapper, row.ref_id);
      break;
    case "user_progress":
      // Restored XP never scores on the boards, and the boards' opt-in and name are the account's own
      // choices, never a file's: the last batch gives this row the account's (or none) before it
      // moves, and sets the totals from the ledger (reveal.ts).
      out.leaderboard_opt_in = 0;
      out.leaderboard_name = null;
      out.board_xp = 0;
      out.board_week_xp = 0;
      out.board_day_xp = 0;
      break;
    case "social_profiles":
      {
        // Comes back hidden; a handle the PUT route would refuse (format, reserved words) is not
        // restored, its key is the handle's own, and a handle held by someone else or kept for its
        // old holder (the cooldown) is refused by the writer (write.ts). Review2 H4.
        const check = checkHandle(String(row.handle ?? ""));
        if (!check.ok) return null;
        out.handle_key = check.key;
        out.is_public = 0;
        out.released_handle_key = null;
        out.released_at = null;
      }
      break;
  }
  return out;
}

export const RESTORED_WEBHOOK_REASON =
  "Restored from an export with a new signing secret: give the receiver the new secret (rotate it to see it), then enable it.";

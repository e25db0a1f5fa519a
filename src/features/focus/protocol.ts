/**
 * What the FocusTimer object and its clients (the HTTP routes, the WebSocket) share: the subprotocol,
 * the commands, the object's answer and the state it sends, and the D1 statements the object runs.
 * A command is parsed with the same body schema whichever way it arrives, so it means the same thing.
 */
import type { z } from "@hono/zod-openapi";
import type { FieldError } from "../../lib/errors";
import { zodIssuesToFieldErrors } from "../../lib/validation";
import type { ActionError } from "./machine";
import {
  ExtendBodySchema,
  FinishBodySchema,
  type FocusStateSchema,
  InterruptBodySchema,
  SessionGuardBodySchema,
  StartFocusBodySchema,
} from "./schemas";

/** The subprotocol clients offer (with `bearer.<token>` to authenticate without a ticket). */
export const FOCUS_SUBPROTOCOL = "pap.focus.v1";

export type FocusStateDto = z.infer<typeof FocusStateSchema>;

export const COMMAND_BODIES = {
  start: StartFocusBodySchema,
  pause: SessionGuardBodySchema,
  resume: SessionGuardBodySchema,
  interrupt: InterruptBodySchema,
  extend: ExtendBodySchema,
  finish: FinishBodySchema,
  abandon: SessionGuardBodySchema,
  skip_break: SessionGuardBodySchema,
} as const;

export type CommandType = keyof typeof COMMAND_BODIES;
export const COMMAND_TYPES = Object.keys(COMMAND_BODIES) as [CommandType, ...CommandType[]];

export type FocusCommand = {
  [K in CommandType]: { type: K } & z.infer<(typeof COMMAND_BODIES)[K]>;
}[CommandType];

export function parseCommand(
  type: CommandType,
  body: unknown,
): { ok: true; command: FocusCommand } | { ok: false; errors: FieldError[] } {
  const parsed = COMMAND_BODIES[type].safeParse(body ?? {});
  if (!parsed.success) return { ok: false, errors: zodIssuesToFieldErrors(parsed.error.issues) };
  return { ok: true, command: { type, ...parsed.data } as FocusCommand };
}

/** The FocusTimer's answer to a command, across RPC: expected failures are values, not throws. */
export type ActResult =
  | { ok: true; status: 200 | 201; state: FocusStateDto; replayed: boolean }
  | { ok: false; error: ActionError };

// The object keeps the feature's tables up to date and reads the user's settings and focus target:
// the feature owns those statements, and publishes here the ones its object may run.
export { getSettings, persistStatements, resolveFocusTarget, type SettingsWrite } from "./queries";

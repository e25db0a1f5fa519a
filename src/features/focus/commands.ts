/**
 * What a client asks the focus timer to do, over HTTP or the WebSocket. Both parse the same body
 * schema per command, so a command means the same thing whichever way it arrives.
 */
import type { z } from "@hono/zod-openapi";
import type { FieldError } from "../../lib/errors";
import { zodIssuesToFieldErrors } from "../../lib/validation";
import type { ActionError } from "./machine";
import {
  ExtendBodySchema,
  FinishBodySchema,
  type FocusStateDto,
  InterruptBodySchema,
  SessionGuardBodySchema,
  StartFocusBodySchema,
} from "./schemas";

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

/** What a D1 error says, its cause's text included: D1 reports SQLite's text there. */
export const errorText = (error: unknown): string =>
  error instanceof Error ? `${error.message} ${String(error.cause ?? "")}` : String(error);

/** D1 reports constraint failures as errors whose message carries SQLite's text. */
export function isUniqueViolation(error: unknown): boolean {
  const message = errorText(error);
  return /UNIQUE constraint failed|PRIMARY KEY constraint failed|SQLITE_CONSTRAINT_(UNIQUE|PRIMARYKEY)/i.test(
    message,
  );
}

/**
 * drizzle's failed-query messages end with the values bound to the statement (emails, titles, hashes),
 * comma-joined: everything after the mark is theirs, line breaks inside a value included.
 */
const BOUND_VALUES = /\nparams: [\s\S]*$/;

/** A message without the values a failed statement was bound to, which drizzle appends to it. */
export const withoutBoundValues = (message: string, mark = "[not sent]"): string =>
  message.replace(BOUND_VALUES, `\nparams: ${mark}`);

/** How deep an error's causes are followed in a log line. */
const CAUSES_LOGGED = 3;

/**
 * An error as the logs may show it: its text without bound values, then its cause's likewise (drizzle
 * keeps D1's own reason there: "UNIQUE constraint failed", "Network connection lost").
 */
export function loggableError(error: unknown, depth = 0): string {
  const text = withoutBoundValues(String(error), "[not logged]");
  const cause = error instanceof Error ? error.cause : undefined;
  if (cause === undefined || depth >= CAUSES_LOGGED) return text;
  return `${text} (cause: ${loggableError(cause, depth + 1)})`;
}

/**
 * Its stack, likewise: the stack starts with the error's own text (V8 writes it so), and only that text
 * holds bound values. The frames are found by cutting that text off, never by searching for a frame: a
 * bound value may itself hold "\n    at ". A stack that starts otherwise loses its frames.
 */
export function loggableStack(error: unknown): string | undefined {
  if (!(error instanceof Error) || !error.stack) return undefined;
  const head = String(error);
  const frames = error.stack.startsWith(head) ? error.stack.slice(head.length) : "";
  return `${withoutBoundValues(head, "[not logged]")}${frames}`;
}

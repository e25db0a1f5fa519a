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

/** Its stack, likewise: the message heads the stack, and only the message holds bound values. */
export function loggableStack(error: unknown): string | undefined {
  if (!(error instanceof Error) || !error.stack) return undefined;
  const at = error.stack.indexOf("\n    at ");
  return `${withoutBoundValues(String(error), "[not logged]")}${at >= 0 ? error.stack.slice(at) : ""}`;
}

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

/**
 * The items of a comma-separated header or setting, trimmed, blanks dropped ("a, ,b," → ["a", "b"]);
 * none for a missing one.
 */
export function commaList(text: string | undefined): string[] {
  return (text ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);
}

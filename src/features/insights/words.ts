/**
 * Words an insight never uses: they judge, compare a person against what they "should" have done, or
 * shame. The local templates are tested against this list, and a model's rephrasing that contains one
 * is thrown away for the local text.
 */
export const FORBIDDEN_WORDS = [
  "lazy",
  "laziness",
  "fail",
  "fails",
  "failed",
  "failing",
  "failure",
  "failures",
  "behind",
  "should have",
  "should've",
  "shouldn't have",
  "only managed",
  "only did",
  "bad",
  "badly",
  "poor",
  "poorly",
  "disappointing",
  "disappointed",
  "disappointment",
  "worse",
  "worst",
  "unproductive",
  "procrastinate",
  "procrastinating",
  "procrastination",
  "procrastinator",
  "slacking",
  "slacker",
  "waste",
  "wasted",
  "wasting",
  "not enough",
  "must",
  "guilt",
  "guilty",
  "shame",
  "ashamed",
  "excuse",
  "excuses",
  "sloppy",
  "terrible",
  "careless",
  "undisciplined",
  "lack of discipline",
  "no excuse",
  "pathetic",
  "useless",
] as const;

const literally = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/'/g, "['’]");

const FORBIDDEN = new RegExp(
  `(?<![\\p{L}])(?:${FORBIDDEN_WORDS.map(literally).join("|")})(?![\\p{L}])`,
  "iu",
);

/** The first forbidden word or phrase in `text`, if any (whole words, any case). */
export function forbiddenWordIn(text: string): string | undefined {
  return FORBIDDEN.exec(text)?.[0];
}

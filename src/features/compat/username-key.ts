/**
 * The form a username is compared in: "Sam_Rivers", "sam_rivers" and their compatibility-equivalent
 * spellings (full-width letters) are one username.
 */
export function usernameKey(username: string): string {
  // Σ lower-cases to ς at the end of a word and σ elsewhere: one letter, one key.
  return username.normalize("NFKC").toLowerCase().replaceAll("ς", "σ");
}

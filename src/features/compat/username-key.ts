/**
 * The form a username is compared in: "Sam_Rivers", "sam_rivers" and their compatibility-equivalent
 * spellings (full-width letters) are one username.
 */
export function usernameKey(username: string): string {
  return username.normalize("NFKC").toLowerCase();
}

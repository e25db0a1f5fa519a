/**
 * Room codes: what people read out or paste to join a room. Eight characters from 32 that cannot be
 * mistaken for one another (no 0/O, no 1/I), shown as two groups of four ("K7PM-3QXA"): 40 random
 * bits, so guessing an open room's code against the per-user write limit is not a way in.
 * Input is forgiving: any letter case, spaces and hyphens anywhere.
 */

export const ROOM_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
export const ROOM_CODE_LENGTH = 8;
const GROUP = 4;
const CANONICAL = new RegExp(`^[${ROOM_CODE_ALPHABET}]{${ROOM_CODE_LENGTH}}$`);

/** A new random code in its stored form (upper case, no separator): the `code_key`. */
export function newRoomCodeKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(ROOM_CODE_LENGTH));
  // 256 is a multiple of 32: the low five bits of a random byte are unbiased.
  return Array.from(bytes, (b) => ROOM_CODE_ALPHABET[b & 31]).join("");
}

/** The code as people see it: two groups of four. */
export function formatRoomCode(key: string): string {
  return `${key.slice(0, GROUP)}-${key.slice(GROUP)}`;
}

/** The `code_key` of a code as typed, or null when it cannot be one (then no room has it). */
export function roomCodeKey(input: string): string | null {
  const key = input.toUpperCase().replace(/[\s-]/g, "");
  return CANONICAL.test(key) ? key : null;
}

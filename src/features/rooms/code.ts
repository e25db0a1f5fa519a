/**
 * Room codes: what people read out or paste to join a room. Eight characters from 32 that cannot be
 * mistaken for one another (no 0/O, no 1/I), shown as two groups of four ("K7PM-3QXA"): 40 random
 * bits, so guessing an open room's code against the per-user write limit is not a way in.
 */
import { humanCode } from "../../lib/human-code";

export const ROOM_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
export const ROOM_CODE_LENGTH = 8;

const codes = humanCode({ alphabet: ROOM_CODE_ALPHABET, length: ROOM_CODE_LENGTH, group: 4 });

/** A new random code in its stored form (upper case, no separator): the `code_key`. */
export const newRoomCodeKey = codes.next;
/** The code as people see it: two groups of four. */
export const formatRoomCode = codes.format;
/** The `code_key` of a code as typed, or null when it cannot be one (then no room has it). */
export const roomCodeKey = codes.normalize;

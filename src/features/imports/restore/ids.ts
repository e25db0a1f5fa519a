/**
 * The ids a restore gives the exported rows. The new id is a pure function of the restoring account
 * and the old id (derivedId: a UUIDv7 keeping the old one's time, so lists sort as they did), never
 * of the import: every reference in the file follows without a lookup table, a redelivered chunk
 * inserts nothing twice, and restoring the same file again maps onto the rows the first restore
 * wrote — the tables' keys (xp_ledger's (user_id, source_key) among them) then refuse the copies.
 * Ids are kept as they are only when the file is this account's own export read from where the
 * platform stored it (a `download_url` whose export row is the caller's: see upload.ts). Never on the
 * file's word: an uploaded file's `account.id` is whatever its sender typed, and keeping ids on it let a
 * crafted file name another person's task or template (review item 1).
 */
import { sha256HexSync } from "./sha256";

export interface IdMapper {
  /** The new id for an exported id. */
  map(old: string): Promise<string>;
  /** Whether ids are kept as they are (a restore into the exported account itself). */
  readonly identity: boolean;
}

export function idMapper(userId: string, identity: boolean): IdMapper {
  if (identity) return { identity: true, map: async (old) => old };
  const cache = new Map<string, string>();
  return {
    identity: false,
    async map(old) {
      let id = cache.get(old);
      if (id === undefined) {
        id = derivedIdSync(userId, old);
        // Ids repeat within a chunk (a task's steps name it); the cache is per chunk-sized run.
        if (cache.size > 10_000) cache.clear();
        cache.set(old, id);
      }
      return id;
    },
  };
}

/**
 * export/live.ts derivedId, synchronously (sha256.ts): the very same id (a test compares them), so
 * the ids a restore writes and the ones the Durable Objects derive for what they hold agree.
 */
export function derivedIdSync(userId: string, oldId: string): string {
  const hash = sha256HexSync(`${userId}\u0000${oldId}`);
  const time = /^[0-9a-f]{8}-[0-9a-f]{4}-/.test(oldId)
    ? oldId.slice(0, 14)
    : `${hash.slice(0, 8)}-${hash.slice(8, 12)}-`;
  const variant = ((Number.parseInt(hash.slice(16, 17), 16) & 0x3) | 0x8).toString(16);
  return `${time}7${hash.slice(13, 16)}-${variant}${hash.slice(17, 20)}-${hash.slice(20, 32)}`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Maps a value that may or may not name a row (a share's ref, a prediction's subject): only ids move. */
export async function mapIfId(mapper: IdMapper, value: unknown): Promise<unknown> {
  return typeof value === "string" && UUID.test(value) ? mapper.map(value) : value;
}

/**
 * The XP ledger's source keys embed the id of the work they paid for (gamification/work.ts
 * sourceKeyOf: step:<id>, task:<id>, focus:<id>, and the bonus and pet shares of a grant,
 * bonus:<key> and pet:<key>); the id follows the work's, so the ledger's unique (user_id, source_key)
 * still pays each piece of work once. Other keys (manual grants, challenges) are the same in any
 * account and stay as they are.
 */
export async function mapSourceKey(mapper: IdMapper, key: string): Promise<string> {
  const match = /^((?:bonus:|pet:)*(?:step|task|focus)):(.+)$/.exec(key);
  if (!match) return key;
  return `${match[1]}:${await mapper.map(match[2] as string)}`;
}

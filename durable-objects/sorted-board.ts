import type { ShardRow } from "../src/features/gamification/protocol";

/** Board order: more XP first, then the lower user id (so ties always break the same way). */
export function ranksBefore(a: ShardRow, b: ShardRow): boolean {
  return a.xp > b.xp || (a.xp === b.xp && a.user_id < b.user_id);
}

const compare = (a: ShardRow, b: ShardRow) => (ranksBefore(a, b) ? -1 : ranksBefore(b, a) ? 1 : 0);

/**
 * Rows per block. One sorted array of 100,000 rows made every update a 100,000-element move; blocks
 * keep a move within one block, and a rank sums a few hundred block sizes.
 */
const BLOCK = 512;

/** Index of the first row in `rows` (sorted) that `at` does not rank after: how many rank before it. */
function lowerBound(rows: readonly ShardRow[], at: ShardRow): number {
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const row = rows[mid];
    if (row && ranksBefore(row, at)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * One board of a shard, in memory, in rank order: rank, neighbours and top N are binary searches and
 * slices instead of a count of every row above. Built from the shard's SQLite (the source of truth)
 * when first needed and kept in step by every update; an evicted object simply builds it again.
 */
export class SortedBoard {
  /** Non-empty sorted blocks; every row of a block ranks before every row of the next. */
  private readonly blocks: ShardRow[][] = [];
  private readonly byUser = new Map<string, ShardRow>();
  private count = 0;

  constructor(rows: Iterable<ShardRow>) {
    const all = [...rows].sort(compare);
    for (let i = 0; i < all.length; i += BLOCK) this.blocks.push(all.slice(i, i + BLOCK));
    for (const row of all) this.byUser.set(row.user_id, row);
    this.count = all.length;
  }

  get size(): number {
    return this.count;
  }

  /**
   * The block `at` belongs in — the first whose last row does not rank before it (or the last block) —
   * and its index. On an empty board: index 0 and a new empty array that is not part of the board (to
   * read only; `set` adds a real block first).
   */
  private blockFor(at: ShardRow): [number, ShardRow[]] {
    let lo = 0;
    let hi = this.blocks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const last = this.blocks[mid]?.at(-1);
      if (last && ranksBefore(last, at)) lo = mid + 1;
      else hi = mid;
    }
    return [lo, this.blocks[lo] ?? []];
  }

  /** How many rows rank before `at` (its 0-based position, whether or not it is on the board). */
  countBefore(at: ShardRow): number {
    const [b, block] = this.blockFor(at);
    let before = 0;
    for (const earlier of this.blocks.slice(0, b)) before += earlier.length;
    return before + lowerBound(block, at);
  }

  /** Rows `from` (inclusive) to `to` (exclusive) in rank order. */
  private slice(from: number, to: number): ShardRow[] {
    const out: ShardRow[] = [];
    let offset = 0;
    for (const block of this.blocks) {
      if (offset >= to) break;
      const end = offset + block.length;
      if (end > from)
        out.push(...block.slice(Math.max(0, from - offset), Math.min(block.length, to - offset)));
      offset = end;
    }
    return out;
  }

  top(limit: number): ShardRow[] {
    return this.slice(0, limit);
  }

  get(userId: string): ShardRow | undefined {
    return this.byUser.get(userId);
  }

  /** The `k` rows just before `at` (nearest last) and just after it (nearest first). */
  around(at: ShardRow, k: number): { above: ShardRow[]; below: ShardRow[] } {
    const index = this.countBefore(at);
    const onBoard = this.byUser.get(at.user_id);
    const after = onBoard && onBoard.xp === at.xp ? index + 1 : index;
    return { above: this.slice(Math.max(0, index - k), index), below: this.slice(after, after + k) };
  }

  /** Puts a user's row (or takes it off with `null`). */
  set(userId: string, row: ShardRow | null): void {
    const old = this.byUser.get(userId);
    if (old) {
      const [b, block] = this.blockFor(old);
      const i = lowerBound(block, old);
      if (block[i]?.user_id === userId) {
        block.splice(i, 1);
        this.count -= 1;
        if (block.length === 0) this.blocks.splice(b, 1);
      }
      this.byUser.delete(userId);
    }
    if (!row) return;
    if (this.blocks.length === 0) this.blocks.push([]);
    const [b, block] = this.blockFor(row);
    block.splice(lowerBound(block, row), 0, row);
    if (block.length > 2 * BLOCK) this.blocks.splice(b, 1, block.slice(0, BLOCK), block.slice(BLOCK));
    this.byUser.set(userId, row);
    this.count += 1;
  }
}

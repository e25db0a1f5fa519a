import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ranksBefore, SortedBoard } from "../durable-objects/sorted-board";

const row = (user_id: string, xp: number) => ({ user_id, name: user_id, xp });

describe("a board in memory", () => {
  it("ranks by XP, then by user id, and answers rank, top and neighbours", () => {
    const board = new SortedBoard([row("c", 10), row("a", 30), row("b", 10), row("d", 5)]);
    expect(board.top(10).map((r) => r.user_id)).toEqual(["a", "b", "c", "d"]);
    expect(board.countBefore(row("c", 10))).toBe(2);
    expect(board.around(row("b", 10), 1)).toEqual({ above: [row("a", 30)], below: [row("c", 10)] });
    // Someone not on the board: where they would stand.
    expect(board.countBefore(row("zz", 20))).toBe(1);
    expect(board.around(row("zz", 20), 1)).toEqual({ above: [row("a", 30)], below: [row("b", 10)] });
  });

  it("moves, adds and removes users on update", () => {
    const board = new SortedBoard([row("a", 30), row("b", 20)]);
    board.set("b", row("b", 40));
    board.set("c", row("c", 35));
    board.set("a", null);
    expect(board.top(5)).toEqual([row("b", 40), row("c", 35)]);
    expect(board.get("a")).toBeUndefined();
    expect(board.size).toBe(2);
  });

  it("agrees with sorting from scratch after any sequence of updates", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.constantFrom("a", "b", "c", "d", "e", "f"), fc.option(fc.integer({ min: 0, max: 50 }))),
          {
            maxLength: 60,
          },
        ),
        (updates) => {
          const board = new SortedBoard([]);
          const truth = new Map<string, number>();
          for (const [user, xp] of updates) {
            board.set(user, xp === null ? null : row(user, xp));
            if (xp === null) truth.delete(user);
            else truth.set(user, xp);
          }
          const expected = [...truth]
            .map(([u, xp]) => row(u, xp))
            .sort((x, y) => (ranksBefore(x, y) ? -1 : 1));
          expect(board.top(100)).toEqual(expected);
          for (const [i, r] of expected.entries()) expect(board.countBefore(r)).toBe(i);
        },
      ),
    );
  });
});

describe("a board bigger than one block", () => {
  it("keeps rank order, ranks and neighbours right across many blocks and updates", () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const users = Array.from({ length: 3000 }, (_, i) => `u${String(i).padStart(5, "0")}`);
    const truth = new Map(users.map((u) => [u, Math.floor(random() * 500)]));
    const board = new SortedBoard([...truth].map(([u, xp]) => row(u, xp)));
    for (let i = 0; i < 5000; i++) {
      const user = users[Math.floor(random() * users.length)] ?? "u00000";
      if (random() < 0.05) {
        board.set(user, null);
        truth.delete(user);
      } else {
        const xp = Math.floor(random() * 500);
        board.set(user, row(user, xp));
        truth.set(user, xp);
      }
    }
    const expected = [...truth].map(([u, xp]) => row(u, xp)).sort((x, y) => (ranksBefore(x, y) ? -1 : 1));
    expect(board.size).toBe(expected.length);
    expect(board.top(expected.length)).toEqual(expected);
    for (const i of [0, 1, 511, 512, 1023, 1500, expected.length - 1]) {
      const r = expected[i];
      if (!r) continue;
      expect(board.countBefore(r)).toBe(i);
      expect(board.around(r, 2)).toEqual({
        above: expected.slice(Math.max(0, i - 2), i),
        below: expected.slice(i + 1, i + 3),
      });
    }
  });
});

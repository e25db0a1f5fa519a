/** What the Worker and the LeaderboardShard objects exchange over RPC. */

export const BOARDS = ["weekly", "all_time"] as const;
export type Board = (typeof BOARDS)[number];

/** A user's standing as D1 has it, with the version that orders updates. */
export interface ScoreEntry {
  user_id: string;
  name: string;
  total_xp: number;
  week_start: string;
  week_xp: number;
  version: number;
  /** Opted out: kept as a tombstone so a late update cannot bring the user back. */
  hidden: boolean;
}

/** A type, not an interface: SQL rows need the implicit index signature only type aliases have. */
export type ShardRow = {
  user_id: string;
  name: string;
  xp: number;
};

export interface ShardNeighbours {
  above_count: number;
  above: ShardRow[];
  below: ShardRow[];
}

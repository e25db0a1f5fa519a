import type { FocusRoom } from "../durable-objects/focus-room";
import type { FocusTimer } from "../durable-objects/focus-timer";
import type { LeaderboardShard } from "../durable-objects/leaderboard-shard";
import type { PetState } from "../durable-objects/pet-state";
import type { ErasureMessage } from "./features/account/messages";
import type { ExportMessage } from "./features/export/messages";
import type { ImportMessage } from "./features/imports/messages";
import type { LearningMessage } from "./features/learning/messages";
import type { Envelope } from "./lib/events/catalog";

/** Bindings and vars declared in wrangler.toml, plus secrets from `.dev.vars` / `wrangler secret`. */
export interface Env {
  DB: D1Database;
  EVENTS_QUEUE: Queue<Envelope>;
  NOTIFICATIONS_QUEUE: Queue<unknown>;
  WEBHOOKS_QUEUE: Queue<unknown>;
  /** Nightly training: pages of users to claim, and one training per user (features/learning). */
  LEARNING_QUEUE: Queue<LearningMessage>;
  /** Export jobs: one slice of one export per message (features/export). */
  EXPORTS_QUEUE: Queue<ExportMessage>;
  /** Import jobs: one slice of one import per message (features/imports). */
  IMPORTS_QUEUE: Queue<ImportMessage>;
  /** Deleting accounts: deletions to finish, and sweeps after them (features/account). */
  ERASURE_QUEUE: Queue<ErasureMessage>;
  /** Account exports and uploaded import files. */
  FILES: R2Bucket;
  /** One live focus timer per user, addressed by `idFromName(userId)`. */
  FOCUS_TIMER: DurableObjectNamespace<FocusTimer>;
  /** XP leaderboard shards, addressed by `idFromName("leaderboard-shard-<n>")`. */
  LEADERBOARD: DurableObjectNamespace<LeaderboardShard>;
  /** One pet per user, alive: addressed by `idFromName(userId)`. */
  PET_STATE: DurableObjectNamespace<PetState>;
  /** One live focus room per room (body doubling), addressed by `idFromName(roomId)`. */
  FOCUS_ROOM: DurableObjectNamespace<FocusRoom>;
  AI?: Ai;
  /** Workers Analytics Engine: one data point per request (route, method, status, latency, D1 costs). */
  METRICS?: AnalyticsEngineDataset;
  /** Per user: authenticated writes (wrangler.toml [[ratelimits]]). */
  WRITE_LIMITER: RateLimit;
  /** Per user: calls that may reach Workers AI. */
  AI_LIMITER: RateLimit;
  /** Uploads of import files, per user (features/imports). */
  IMPORT_LIMITER: RateLimit;
  /** Per client address: register, login. */
  AUTH_LIMITER: RateLimit;
  /** Per client address: refresh (generous: many people may share an address). */
  REFRESH_LIMITER: RateLimit;
  API_BASE_URL: string;
  JWT_SECRET: string;
  JWT_ISSUER: string;
  JWT_AUDIENCE: string;
  ACCESS_TOKEN_TTL_SECONDS: string;
  REFRESH_TOKEN_TTL_DAYS: string;
  CORS_ORIGINS: string;
  MAX_BODY_BYTES: string;
  /** Minutes without a heartbeat or move after which an agent counts as offline. */
  AGENT_OFFLINE_MINUTES?: string;
  /** Rows one chunk of an account's erasure deletes at most (default 1,000; src/features/account). */
  ERASURE_CHUNK_ROWS?: string;
  /** Accounts (comma-separated emails) that may mint API tokens with the "admin" scope. */
  ADMIN_EMAILS?: string;
  /** How many Durable Objects the leaderboards are spread over (by hash of user id). */
  LEADERBOARD_SHARDS?: string;
  /** "auto": Workers AI splits tasks when bound, the local splitter otherwise; "local": never AI. */
  SPLITTER?: string;
  /** Milliseconds a split waits for Workers AI before the local splitter answers. */
  SPLIT_AI_TIMEOUT_MS?: string;
  /** "auto": Workers AI refines the local categoriser's choice after a task is created, when bound; "local": never AI. */
  CATEGORISER?: string;
  /** Milliseconds a category refinement waits for Workers AI before keeping the local category. */
  CATEGORISE_AI_TIMEOUT_MS?: string;
  /** "auto": Workers AI rephrases insights when bound, the local templates otherwise; "local": never AI. */
  INSIGHTS_WRITER?: string;
  /** Milliseconds insights wait for Workers AI's rephrasing before the local words answer. */
  INSIGHTS_AI_TIMEOUT_MS?: string;
  /** Web Push (RFC 8292): the application server's key pair, base64url (secrets), and its contact. */
  VAPID_PUBLIC_KEY?: string;
  VAPID_PRIVATE_KEY?: string;
  VAPID_SUBJECT?: string;
  /** Expo's push API base (…/--/api/v2/push); tests point it at a local fake. */
  EXPO_PUSH_URL?: string;
  /** Expo's access token, when the project requires one (secret). */
  EXPO_ACCESS_TOKEN?: string;
  /** "true" lets webhooks target http://127.0.0.1:<port> and localhost (local development only). */
  WEBHOOKS_ALLOW_LOCAL?: string;
  /** Comma-separated push service hosts subscriptions may point at (default: the browsers' own). */
  PUSH_SERVICE_HOSTS?: string;
  /** Milliseconds one push request may take (default 10 000). */
  PUSH_TIMEOUT_MS?: string;
  /** Minutes after an Expo ticket before its receipt is asked for (Expo suggests about 15). */
  EXPO_RECEIPT_DELAY_MINUTES?: string;
  /** Seconds after a room member's last socket closes before they are shown away (default 60). */
  ROOM_AWAY_GRACE_SECONDS?: string;
  /** Minutes without a socket after which a room member is removed (default 30). */
  ROOM_REMOVE_AFTER_MINUTES?: string;
  /** Hours a room stays open with no member before it closes (default 24). */
  ROOM_EMPTY_CLOSE_HOURS?: string;
  /** Seconds between an isolate's flushes of its request counts to D1 (default 60). */
  METRICS_FLUSH_SECONDS?: string;
  /** A D1 statement slower than this many ms goes to the slow-query log (default 100). */
  SLOW_QUERY_MS?: string;
  /** "all" (default): a JSON log line per request; "errors": only 5xx and slow ones; "off". */
  REQUEST_LOGS?: string;
  /** Sentry's DSN (secret): error tracking is on when it is set, and nothing of Sentry runs when not. */
  SENTRY_DSN?: string;
  /** The environment Sentry files events under (default "production"). */
  SENTRY_ENVIRONMENT?: string;
  /** The release Sentry files events under (e.g. the commit deployed). */
  SENTRY_RELEASE?: string;
}

/** Scopes an API token can carry. A login session (JWT) holds all of them. */
export const SCOPES = [
  "tasks:read",
  "tasks:write",
  "profile:read",
  "agents:read",
  "agents:write",
  "focus:read",
  "focus:write",
  "gamification:read",
  "gamification:write",
  "pets:read",
  "pets:write",
  "notifications:read",
  "notifications:write",
  "webhooks:read",
  "webhooks:write",
  "analytics:read",
  "analytics:write",
  "social:read",
  "social:write",
  "export:read",
  "export:write",
  "admin",
] as const;
export type Scope = (typeof SCOPES)[number];

/** Who is calling: a user through a login session, or through one of their API tokens. */
export interface Principal {
  /** The account: for an agent, the person who registered it. */
  userId: string;
  kind: "session" | "api_token" | "agent";
  /** Set when an agent calls with its own token. */
  agentId?: string;
  /** Login family for sessions, token id for API tokens. */
  credentialId: string;
  /** When the credential stops being valid (ms since the epoch); absent for API tokens without expiry. */
  expiresAt?: number;
  scopes: ReadonlySet<Scope>;
}

/** An agent's own token: its assignments, and reading the tasks in them. */
export const AGENT_SCOPES: Scope[] = ["agents:read", "agents:write", "tasks:read"];

export const ALL_SCOPES: ReadonlySet<Scope> = new Set(SCOPES);

/**
 * What a login session may do: everything but "admin", which only an API token minted by an account
 * listed in ADMIN_EMAILS carries — so a stolen session never administers the platform.
 */
export const SESSION_SCOPES: ReadonlySet<Scope> = new Set(SCOPES.filter((s) => s !== "admin"));

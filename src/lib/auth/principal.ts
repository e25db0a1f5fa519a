/** Scopes an API token can carry. A login session (JWT) holds all of them. */
export const SCOPES = ["tasks:read", "tasks:write", "profile:read", "agents:read", "agents:write"] as const;
export type Scope = (typeof SCOPES)[number];

/** Who is calling: a user through a login session, or through one of their API tokens. */
export interface Principal {
  userId: string;
  kind: "session" | "api_token";
  /** Login family for sessions, token id for API tokens. */
  credentialId: string;
  scopes: ReadonlySet<Scope>;
}

export const ALL_SCOPES: ReadonlySet<Scope> = new Set(SCOPES);

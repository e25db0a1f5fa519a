/**
 * Public profile handles: 3–30 letters, digits or underscores, unique whatever their case (the
 * stored key is the lower-case form), and never a word that could pass for the platform itself or one
 * of its own paths. Pure.
 */

export const HANDLE_PATTERN = /^[A-Za-z0-9_]{3,30}$/;

/**
 * Words nobody may take: the platform's voice (admin, support …), account pages a client may route
 * to (/u/me, /u/settings …) and the API's own path segments.
 */
export const RESERVED_HANDLES: ReadonlySet<string> = new Set([
  // The platform speaking.
  "admin",
  "administrator",
  "root",
  "system",
  "staff",
  "team",
  "official",
  "moderator",
  "mod",
  "support",
  "help",
  "helpdesk",
  "security",
  "abuse",
  "postmaster",
  "webmaster",
  "noreply",
  "no_reply",
  "proxy",
  "proxyagent",
  "proxy_agent",
  "anonymous",
  "everyone",
  "null",
  "undefined",
  // Pages a client may route to.
  "me",
  "my",
  "you",
  "settings",
  "about",
  "login",
  "logout",
  "signin",
  "signout",
  "signup",
  "register",
  "account",
  "accounts",
  "profile",
  "profiles",
  "privacy",
  "terms",
  "legal",
  "contact",
  "home",
  "new",
  "edit",
  "delete",
  "search",
  "explore",
  "popular",
  // The API's own paths.
  "api",
  "v1",
  "docs",
  "openapi",
  "health",
  "status",
  "static",
  "assets",
  "auth",
  "tasks",
  "steps",
  "capture",
  "delegation",
  "agents",
  "focus",
  "gamification",
  "leaderboard",
  "pets",
  "creature",
  "templates",
  "notifications",
  "webhooks",
  "hooks",
  "calendar",
  "analytics",
  "insights",
  "predictions",
  "suggestions",
  "models",
  "social",
  "share",
  "shares",
  "export",
  "import",
  "event_types",
]);

/**
 * Beginnings that speak for the platform whatever follows (proxy_official, officialsupport …). Kept to
 * the brand and the claim of being official: a longer list would refuse ordinary names.
 */
export const RESERVED_PREFIXES: readonly string[] = ["proxy", "official"];

/**
 * Whether a handle's key passes for a reserved word: the word itself, the word with digits or
 * underscores around it (admin_, _admin, support1, help_2024), or anything starting with the brand.
 */
export function isReserved(key: string): boolean {
  const core = key.replace(/^_+/, "").replace(/[\d_]+$/, "");
  return RESERVED_HANDLES.has(core) || RESERVED_PREFIXES.some((prefix) => core.startsWith(prefix));
}

export type HandleCheck = { ok: true; key: string } | { ok: false; reserved: boolean; message: string };

/** Whether `handle` may be taken (by someone, if nobody holds it yet), and its unique key. */
export function checkHandle(handle: string): HandleCheck {
  if (!HANDLE_PATTERN.test(handle)) {
    return {
      ok: false,
      reserved: false,
      message: "Use 3–30 letters, digits or underscores",
    };
  }
  const key = handle.toLowerCase();
  if (isReserved(key)) {
    return { ok: false, reserved: true, message: `"${handle}" is reserved; pick another handle` };
  }
  return { ok: true, key };
}

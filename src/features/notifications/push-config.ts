import type { Env } from "../../env";
import { commaList } from "../../lib/comma-list";
import { loggableError } from "../../lib/db-errors";
import { importVapidKeys, type VapidKeys } from "../../lib/push/vapid";

/** Expo's push API, unless configuration points elsewhere (tests point it at a local fake). */
export const DEFAULT_EXPO_PUSH_URL = "https://exp.host/--/api/v2/push";
const DEFAULT_SUBJECT = "mailto:push@proxy-agent.dev";

export interface PushConfig {
  /** Null when VAPID keys are not configured: browsers cannot subscribe, web pushes are not sent. */
  vapid: VapidKeys | null;
  vapidPublicKey: string | null;
  subject: string;
  expoUrl: string;
  expoAccessToken: string | undefined;
  /** How long one push request may take before it is given up (and retried later). */
  timeoutMs: number;
  /** The push services browsers' subscriptions may point at (a host or any of its subdomains). */
  pushHosts: string[];
}

/**
 * The push services of the browsers in use (Chrome/Edge via FCM, Firefox, Safari, Windows). Anything
 * else is refused: an endpoint is a URL the subscriber chooses, and we must not be made to POST to it.
 */
export const DEFAULT_PUSH_HOSTS = [
  "fcm.googleapis.com",
  "push.services.mozilla.com",
  "push.apple.com",
  "notify.windows.com",
];

/** Whether `endpoint`'s host is one of `hosts` or under one of them. */
export function isAllowedPushHost(endpoint: string, hosts: readonly string[]): boolean {
  let host: string;
  try {
    host = new URL(endpoint).hostname.toLowerCase();
  } catch {
    return false;
  }
  return hosts.some((h) => host === h || host.endsWith(`.${h}`));
}

/** A push service that hangs is given up on after this long, without holding back the rest. */
export const DEFAULT_PUSH_TIMEOUT_MS = 10_000;
/** Longer would let one slow service hold a whole delivery (and its claims) hostage. */
const MAX_PUSH_TIMEOUT_MS = 30_000;

// Importing keys costs a little WebCrypto work: once per isolate and key pair.
let cached: { source: string; keys: Promise<VapidKeys> } | undefined;

function vapidKeysOf(publicKey: string, privateKey: string): Promise<VapidKeys> {
  const source = `${publicKey}:${privateKey}`;
  if (cached?.source !== source) cached = { source, keys: importVapidKeys(publicKey, privateKey) };
  return cached.keys;
}

function positiveNumber(text: string | undefined): number | undefined {
  const n = Number(text);
  return text !== undefined && Number.isFinite(n) && n > 0 ? n : undefined;
}

export async function pushConfig(env: Env): Promise<PushConfig> {
  const publicKey = env.VAPID_PUBLIC_KEY?.trim() || null;
  const privateKey = env.VAPID_PRIVATE_KEY?.trim() || null;
  let vapid: VapidKeys | null = null;
  if (publicKey && privateKey) {
    try {
      vapid = await vapidKeysOf(publicKey, privateKey);
    } catch (error) {
      cached = undefined;
      console.error(
        JSON.stringify({ level: "error", message: "VAPID keys are invalid", error: loggableError(error) }),
      );
    }
  }
  return {
    vapid,
    vapidPublicKey: vapid ? publicKey : null,
    subject: env.VAPID_SUBJECT?.trim() || DEFAULT_SUBJECT,
    expoUrl: env.EXPO_PUSH_URL?.trim() || DEFAULT_EXPO_PUSH_URL,
    expoAccessToken: env.EXPO_ACCESS_TOKEN?.trim() || undefined,
    timeoutMs: Math.min(MAX_PUSH_TIMEOUT_MS, positiveNumber(env.PUSH_TIMEOUT_MS) ?? DEFAULT_PUSH_TIMEOUT_MS),
    pushHosts: hostList(env.PUSH_SERVICE_HOSTS) ?? DEFAULT_PUSH_HOSTS,
  };
}

/** The hosts named (comma-separated), or undefined when none is (unset, blank, only commas). */
function hostList(setting: string | undefined): string[] | undefined {
  const hosts = commaList(setting).map((h) => h.toLowerCase());
  return hosts.length > 0 ? hosts : undefined;
}

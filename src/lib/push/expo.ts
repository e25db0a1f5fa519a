/**
 * A client for Expo's push service (https://docs.expo.dev/push-notifications/sending-notifications/):
 * `POST <base>/send` takes up to 100 messages and answers a ticket per message, in order;
 * `POST <base>/getReceipts` takes up to 1,000 ticket ids and answers the receipts Expo has so far.
 * Nothing here retries: every failure comes back as an outcome saying whether trying again can help,
 * so the caller (a queue consumer) retries with its own backoff and records what happened.
 */
import { chunkList } from "../chunk";
import { isExpoPushToken } from "./expo-tokens";

export { EXPO_PUSH_TOKEN_MAX_LENGTH, EXPO_PUSH_TOKEN_PATTERN, isExpoPushToken } from "./expo-tokens";

export const EXPO_MAX_MESSAGES_PER_REQUEST = 100;
export const EXPO_MAX_RECEIPT_IDS_PER_REQUEST = 1000;
/** What Apple and Google take for a whole notification; Expo answers `MessageTooBig` past it. */
export const EXPO_MAX_PAYLOAD_BYTES = 4096;
export const EXPO_DEFAULT_TIMEOUT_MS = 10_000;
/** A Worker may hold six connections open at once, and Expo asks senders for no more than six either. */
const MAX_CONCURRENT_REQUESTS = 6;
/** Expo takes gzip request bodies; below this size compressing saves less than it costs. */
const GZIP_ABOVE_BYTES = 1024;

export interface ExpoMessage {
  to: string;
  title?: string;
  body?: string;
  data?: Record<string, unknown>;
  sound?: "default" | null;
  priority?: "default" | "normal" | "high";
  channelId?: string;
  ttl?: number;
  badge?: number;
}

export interface ExpoClientOptions {
  /** Expo's push API, e.g. `https://exp.host/--/api/v2/push`. */
  baseUrl: string;
  /** Needed once "enhanced push security" is on for the project. */
  accessToken?: string;
  /** For each request on its own, so one hanging request does not hold up the others. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** Trying again later may help; `retryAfterSeconds` is what Expo asked for, if it said. */
interface Retry {
  kind: "retry";
  retryAfterSeconds: number | null;
  detail: string;
}
/** Trying again will not help: `code` is Expo's (`MessageTooBig`, `InvalidCredentials`, `UNAUTHORIZED` …). */
interface Failed {
  kind: "error";
  code: string;
  detail: string;
}
/** The token is dead: stop sending to it until the device registers again. */
interface DeviceNotRegistered {
  kind: "device_not_registered";
  detail: string;
}

export type ExpoSendOutcome = { kind: "ticket"; ticketId: string } | DeviceNotRegistered | Retry | Failed;

/**
 * `pending`: Expo has no receipt yet (ask again later; receipts are kept about a day).
 * `retry`: the request for receipts failed, so nothing is known of this ticket yet.
 * `error` with `MessageRateExceeded`: the notification was dropped and may be sent again later.
 */
export type ExpoReceiptOutcome = { kind: "ok" } | DeviceNotRegistered | Failed | { kind: "pending" } | Retry;

/**
 * One outcome per message, in the order given. Malformed tokens and oversized payloads are refused here
 * without a request (Expo would refuse them the same way); the rest go in chunks of 100, at most six
 * requests at a time, each with its own timeout.
 */
export async function sendExpoMessages(
  messages: ExpoMessage[],
  options: ExpoClientOptions,
): Promise<ExpoSendOutcome[]> {
  const refusals = messages.map(refusalOf);
  const sendable = messages.flatMap((_, index) => (refusals[index] ? [] : [index]));
  const chunks = chunkList(sendable, EXPO_MAX_MESSAGES_PER_REQUEST);
  const answers = await exchangeAll(
    chunks.map((chunk) => chunk.map((index) => messages[index])),
    endpoint(options.baseUrl, "send"),
    options,
  );
  const settled = new Map<number, ExpoSendOutcome>();
  for (const [c, chunk] of chunks.entries()) {
    const outcomes = ticketOutcomes(answers[c]!, chunk.length);
    for (const [k, index] of chunk.entries()) settled.set(index, outcomes[k]!);
  }
  return refusals.map((refusal, index) => refusal ?? settled.get(index)!);
}

/** An outcome for every distinct id given, asked for in chunks of 1,000. */
export async function fetchExpoReceipts(
  ticketIds: string[],
  options: ExpoClientOptions,
): Promise<Map<string, ExpoReceiptOutcome>> {
  const chunks = chunkList([...new Set(ticketIds)], EXPO_MAX_RECEIPT_IDS_PER_REQUEST);
  const answers = await exchangeAll(
    chunks.map((ids) => ({ ids })),
    endpoint(options.baseUrl, "getReceipts"),
    options,
  );
  const receipts = new Map<string, ExpoReceiptOutcome>();
  for (const [c, ids] of chunks.entries()) {
    for (const [id, outcome] of receiptOutcomes(answers[c]!, ids)) receipts.set(id, outcome);
  }
  return receipts;
}

// ---- What is refused before sending ----

function refusalOf(message: ExpoMessage): ExpoSendOutcome | undefined {
  if (!isExpoPushToken(message.to)) {
    return { kind: "device_not_registered", detail: "This is not an Expo push token; Expo would refuse it." };
  }
  const bytes = payloadBytes(message);
  if (bytes === undefined) {
    return {
      kind: "error",
      code: "InvalidPayload",
      detail: "The notification's data cannot be written as JSON.",
    };
  }
  if (bytes > EXPO_MAX_PAYLOAD_BYTES) {
    return {
      kind: "error",
      code: "MessageTooBig",
      detail: `The notification's title, body and data take ${bytes} bytes; at most ${EXPO_MAX_PAYLOAD_BYTES} reach a device.`,
    };
  }
  return undefined;
}

/**
 * A lower bound of what Expo hands Apple or Google: the shown text and the data, before Expo wraps them.
 * Past the limit here, the notification cannot fit there; just under it, Expo may still say too big.
 */
function payloadBytes(message: ExpoMessage): number | undefined {
  try {
    const json = JSON.stringify({ title: message.title, body: message.body, data: message.data });
    return new TextEncoder().encode(json).byteLength;
  } catch {
    return undefined;
  }
}

// ---- Reading tickets and receipts ----

function ticketOutcomes(answer: Answer, size: number): ExpoSendOutcome[] {
  if (!answer.ok) return Array.from({ length: size }, () => answer.failure);
  // Expo answers a lone message with a lone ticket rather than a list of one.
  const data = answer.data;
  const tickets = Array.isArray(data) ? data : size === 1 && isRecord(data) ? [data] : undefined;
  if (tickets?.length !== size) {
    // Which messages were taken cannot be told: sending again may deliver some twice, which Expo's own
    // at-least-once delivery already allows, while giving up would lose them.
    const detail = `Expo answered ${tickets?.length ?? "no"} tickets for ${size} messages.`;
    return Array.from({ length: size }, () => ({ kind: "retry", retryAfterSeconds: null, detail }));
  }
  return tickets.map(ticketOutcome);
}

function ticketOutcome(ticket: unknown): ExpoSendOutcome {
  if (isRecord(ticket) && ticket.status === "ok" && typeof ticket.id === "string" && ticket.id !== "") {
    return { kind: "ticket", ticketId: ticket.id };
  }
  const problem = problemOf(ticket);
  if (problem.code === "DeviceNotRegistered") {
    return { kind: "device_not_registered", detail: problem.detail };
  }
  // Too many messages to one device: this one was not taken, and may be sent again after a pause.
  if (problem.code === "MessageRateExceeded") {
    return { kind: "retry", retryAfterSeconds: null, detail: problem.detail };
  }
  return { kind: "error", ...problem };
}

function receiptOutcomes(answer: Answer, ids: string[]): [string, ExpoReceiptOutcome][] {
  if (!answer.ok) {
    // Whatever made the request fail, the notifications themselves may well have been delivered.
    const { failure } = answer;
    const outcome: Retry =
      failure.kind === "retry" ? failure : { kind: "retry", retryAfterSeconds: null, detail: failure.detail };
    return ids.map((id) => [id, outcome]);
  }
  const data = answer.data;
  if (!isRecord(data)) {
    const detail = "Expo answered receipts in a shape it does not use.";
    return ids.map((id) => [id, { kind: "retry", retryAfterSeconds: null, detail }]);
  }
  return ids.map((id) => [id, receiptOutcome(Object.hasOwn(data, id) ? data[id] : undefined)]);
}

function receiptOutcome(receipt: unknown): ExpoReceiptOutcome {
  // Expo leaves out the ids it has no receipt for yet.
  if (receipt === undefined) return { kind: "pending" };
  if (isRecord(receipt) && receipt.status === "ok") return { kind: "ok" };
  const problem = problemOf(receipt);
  if (problem.code === "DeviceNotRegistered")
    return { kind: "device_not_registered", detail: problem.detail };
  return { kind: "error", ...problem };
}

/** The error a ticket or receipt carries: `details.error` is the code to act on, `message` explains. */
function problemOf(entry: unknown): { code: string; detail: string } {
  if (!isRecord(entry) || entry.status !== "error") {
    return { code: "UnreadableAnswer", detail: "Expo answered an entry that is neither ok nor an error." };
  }
  const code =
    isRecord(entry.details) && typeof entry.details.error === "string" ? entry.details.error : "Unknown";
  const detail =
    typeof entry.message === "string" && entry.message !== "" ? entry.message : `Expo said ${code}.`;
  return { code, detail };
}

// ---- HTTP ----

type Answer = { ok: true; data: unknown } | { ok: false; failure: Retry | Failed };

interface Prepared {
  url: string;
  init: RequestInit;
}

/**
 * Every body is ready before the first request leaves, so requests start in the order given (which
 * keeps tests deterministic), at most six at a time.
 */
async function exchangeAll(payloads: unknown[], url: string, options: ExpoClientOptions): Promise<Answer[]> {
  const prepared = await Promise.all(payloads.map((payload) => prepare(url, payload, options)));
  return mapWithLimit(prepared, MAX_CONCURRENT_REQUESTS, (request) => exchange(request, options));
}

async function prepare(url: string, payload: unknown, options: ExpoClientOptions): Promise<Prepared> {
  // No Accept-Encoding: the Workers runtime asks for compressed answers and unpacks them itself.
  const headers: Record<string, string> = { accept: "application/json", "content-type": "application/json" };
  if (options.accessToken) headers.authorization = `Bearer ${options.accessToken}`;
  const json = new TextEncoder().encode(JSON.stringify(payload));
  if (json.byteLength <= GZIP_ABOVE_BYTES) return { url, init: { method: "POST", headers, body: json } };
  headers["content-encoding"] = "gzip";
  const gzipped = await new Response(
    new Blob([json]).stream().pipeThrough(new CompressionStream("gzip")),
  ).arrayBuffer();
  return { url, init: { method: "POST", headers, body: gzipped } };
}

/** One request with its own deadline, covering the answer's body too; the caller never sees a throw. */
async function exchange(request: Prepared, options: ExpoClientOptions): Promise<Answer> {
  const timeoutMs = options.timeoutMs ?? EXPO_DEFAULT_TIMEOUT_MS;
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | null = null;
  // Racing the deadline, not only aborting: a fetch that ignores its signal must not hold the caller.
  const deadline = new Promise<Answer>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve(retry(null, `Expo did not answer within ${timeoutMs} ms.`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([answerTo(request, controller.signal, options), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

async function answerTo(request: Prepared, signal: AbortSignal, options: ExpoClientOptions): Promise<Answer> {
  // Looked up now, not at import, so a test's replacement of the global fetch is the one used.
  const send = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  let status: number;
  let retryAfter: string | null;
  let text: string;
  try {
    const response = await send(request.url, { ...request.init, signal });
    status = response.status;
    retryAfter = response.headers.get("retry-after");
    text = await response.text();
  } catch (error) {
    return retry(
      null,
      `Expo could not be reached: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return readAnswer(status, retryAfter, text, Date.now());
}

/** Expo's answer: 429 and 5xx pass, other 4xx do not; a request-level `errors` list fails it whole. */
function readAnswer(status: number, retryAfter: string | null, text: string, now: number): Answer {
  const body = parseJson(text);
  const errors = requestErrorsOf(body);
  const first = errors[0];
  const detail = first ? `${first.message} (${first.code})` : `Expo answered HTTP ${status}.`;
  if (
    status === 408 ||
    status === 429 ||
    status >= 500 ||
    errors.some((e) => e.code === "TOO_MANY_REQUESTS")
  ) {
    return retry(retryAfterSeconds(retryAfter, now), detail);
  }
  if (first) return { ok: false, failure: { kind: "error", code: first.code, detail } };
  if (status < 200 || status > 299)
    return { ok: false, failure: { kind: "error", code: `HTTP_${status}`, detail } };
  // A success that cannot be read says nothing of what was taken, so it is treated as not yet done.
  if (!isRecord(body)) return retry(null, "Expo answered with a body that is not a JSON object.");
  return { ok: true, data: body.data };
}

function requestErrorsOf(body: unknown): { code: string; message: string }[] {
  if (!isRecord(body) || !Array.isArray(body.errors)) return [];
  return body.errors.filter(isRecord).map((e) => ({
    code: typeof e.code === "string" ? e.code : "UNKNOWN",
    message: typeof e.message === "string" ? e.message : "Expo gave no message.",
  }));
}

/** `Retry-After` as seconds from `now`: either a number of seconds or an HTTP date. */
export function retryAfterSeconds(header: string | null, now: number): number | null {
  if (header === null) return null;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
}

const retry = (seconds: number | null, detail: string): Answer => ({
  ok: false,
  failure: { kind: "retry", retryAfterSeconds: seconds, detail },
});

const endpoint = (baseUrl: string, name: "send" | "getReceipts") => `${baseUrl.replace(/\/+$/, "")}/${name}`;

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `work` over `items` with at most `limit` running at once, results in the order of `items`. */
async function mapWithLimit<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

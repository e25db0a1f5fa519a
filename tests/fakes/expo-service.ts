import type { ExpoMessage } from "../../src/lib/push/expo";

/**
 * Expo's push service as documented (https://docs.expo.dev/push-notifications/sending-notifications/),
 * for `routeOutbound(host, fake.handle)`. It keeps its own rules rather than the client's, so a client
 * that sends what Expo would refuse is caught here:
 * - `POST /--/api/v2/push/send`: a JSON message or an array of them (gzip bodies accepted); more than
 *   100 recipients is a 400 with `errors`; a malformed or unregistered token, or a payload over 4096
 *   bytes once wrapped for Apple, gets an error ticket; every other message an ok ticket, in order.
 * - `POST /--/api/v2/push/getReceipts`: `{ ids }`, at most 1,000; answers the receipts it has, leaving
 *   out ids it has none for.
 * - With an access token configured, a request without `Authorization: Bearer <token>` is a 401.
 */
export function createFakeExpoService(
  host = "expo.fake.test",
  options: FakeExpoOptions = {},
): FakeExpoService {
  return new FakeExpoService(host, options);
}

export interface FakeExpoOptions {
  accessToken?: string;
}

/** What one request asked for, in arrival order. */
export interface FakeExpoCall {
  endpoint: "send" | "getReceipts";
  /** Recipients for a send, ids for receipts. */
  count: number;
  gzip: boolean;
  authorization: string | null;
}

type Failure = { status: number; retryAfterSeconds: number | undefined } | "hang";
type Ticket = { status: "ok"; id: string } | ErrorEntry;
type ErrorEntry = { status: "error"; message: string; details: { error: string; expoPushToken?: string } };

const PATH = "/--/api/v2/push";
const MAX_RECIPIENTS = 100;
const MAX_RECEIPT_IDS = 1000;
const MAX_PROVIDER_PAYLOAD_BYTES = 4096;
// Expo's own check is loose: the shape, not the characters inside the brackets.
const TOKEN_SHAPE = /^(?:Exponent|Expo)PushToken\[.+\]$/;
const PROJECT = "@fake/proxy-agent";

export class FakeExpoService {
  readonly baseUrl: string;
  /** Every message Expo took (an ok ticket), one per recipient. */
  readonly sent: ExpoMessage[] = [];
  readonly calls: FakeExpoCall[] = [];
  /** The token each ok ticket was issued for. */
  readonly ticketTo = new Map<string, string>();
  /** Every request that reached the fake, failed ones included. */
  requests = 0;
  /** When false, receipts are not made yet: getReceipts leaves every id out. */
  receiptsReady = true;

  readonly #accessToken: string | undefined;
  readonly #unregistered = new Set<string>();
  readonly #unregisteredLater = new Set<string>();
  readonly #failures: Failure[] = [];

  constructor(host: string, options: FakeExpoOptions) {
    this.baseUrl = `https://${host}${PATH}`;
    this.#accessToken = options.accessToken;
  }

  /** Tickets for this token say DeviceNotRegistered (Expo already knows it is dead). */
  unregister(token: string): void {
    this.#unregistered.add(token);
  }

  /** Tickets for this token are ok; their receipts say DeviceNotRegistered (Apple or Google said so). */
  unregisterLater(token: string): void {
    this.#unregisteredLater.add(token);
  }

  /** The next `times` requests, of either kind, get this status, or never get an answer. */
  failNext(status: number | "hang", times = 1, options: { retryAfterSeconds?: number } = {}): void {
    const failure: Failure =
      status === "hang" ? "hang" : { status, retryAfterSeconds: options.retryAfterSeconds };
    for (let i = 0; i < times; i++) this.#failures.push(failure);
  }

  // An arrow property, so `fake.handle` can be passed on its own. The failure is taken before the first
  // await, so requests fail in the order they were sent.
  readonly handle = async (request: Request): Promise<Response> => {
    this.requests += 1;
    const failure = this.#failures.shift();
    if (failure === "hang") return hang(request.signal);
    if (failure)
      return failed(failure.status, failureCode(failure.status), "The fake was told to fail.", failure);

    const url = new URL(request.url);
    const name = url.pathname.startsWith(`${PATH}/`) ? url.pathname.slice(PATH.length + 1) : "";
    if (name !== "send" && name !== "getReceipts")
      return failed(404, "NOT_FOUND", `No route ${url.pathname}.`);
    if (request.method !== "POST") return failed(405, "METHOD_NOT_ALLOWED", "Only POST is served here.");
    if (
      this.#accessToken !== undefined &&
      request.headers.get("authorization") !== `Bearer ${this.#accessToken}`
    ) {
      return failed(
        401,
        "UNAUTHORIZED",
        "The bearer token is invalid; this project requires an access token.",
      );
    }
    const gzip = request.headers.get("content-encoding") === "gzip";
    const body = await readJson(request, gzip);
    if (body === undefined) return failed(400, "VALIDATION_ERROR", "The request body is not JSON.");
    const authorization = request.headers.get("authorization");
    return name === "send"
      ? this.#send(body, { gzip, authorization })
      : this.#getReceipts(body, { gzip, authorization });
  };

  #send(body: unknown, seen: Pick<FakeExpoCall, "gzip" | "authorization">): Response {
    const single = !Array.isArray(body);
    const messages = Array.isArray(body) ? body : [body];
    const recipients: { message: ExpoMessage; to: string }[] = [];
    for (const message of messages) {
      if (!isRecord(message)) return failed(400, "VALIDATION_ERROR", "Each message must be an object.");
      const to = message.to;
      const tokens = typeof to === "string" ? [to] : Array.isArray(to) ? to : undefined;
      if (!tokens || tokens.length === 0 || !tokens.every((t) => typeof t === "string")) {
        return failed(400, "VALIDATION_ERROR", '"to" must be a push token or a list of them.');
      }
      for (const token of tokens)
        recipients.push({ message: { ...message, to: token } as ExpoMessage, to: token });
    }
    this.calls.push({ endpoint: "send", count: recipients.length, ...seen });
    if (recipients.length > MAX_RECIPIENTS) {
      return failed(
        400,
        "PUSH_TOO_MANY_NOTIFICATIONS",
        `You are trying to send more than ${MAX_RECIPIENTS} push notifications in one request.`,
      );
    }
    const tickets = recipients.map(({ message, to }) => this.#ticketFor(message, to));
    return Response.json({ data: single && tickets.length === 1 ? tickets[0] : tickets });
  }

  #ticketFor(message: ExpoMessage, to: string): Ticket {
    if (!TOKEN_SHAPE.test(to) || this.#unregistered.has(to)) {
      return errorEntry(`"${to}" is not a registered push notification recipient`, "DeviceNotRegistered", to);
    }
    const bytes = providerPayloadBytes(message);
    if (bytes > MAX_PROVIDER_PAYLOAD_BYTES) {
      return errorEntry(
        `Message too big: ${bytes} bytes; the payload sent to Apple and Google must be at most 4096.`,
        "MessageTooBig",
      );
    }
    const id = crypto.randomUUID();
    this.ticketTo.set(id, to);
    this.sent.push(message);
    return { status: "ok", id };
  }

  #getReceipts(body: unknown, seen: Pick<FakeExpoCall, "gzip" | "authorization">): Response {
    const ids = isRecord(body) ? body.ids : undefined;
    if (!Array.isArray(ids) || !ids.every((id) => typeof id === "string")) {
      return failed(400, "VALIDATION_ERROR", '"ids" must be a list of ticket ids.');
    }
    this.calls.push({ endpoint: "getReceipts", count: ids.length, ...seen });
    if (ids.length > MAX_RECEIPT_IDS) {
      return failed(
        400,
        "PUSH_TOO_MANY_RECEIPTS",
        `You are trying to get more than ${MAX_RECEIPT_IDS} push receipts in one request.`,
      );
    }
    const data: Record<string, { status: "ok" } | ErrorEntry> = {};
    for (const id of ids) {
      const to = this.ticketTo.get(id);
      if (to === undefined || !this.receiptsReady) continue;
      data[id] = this.#unregisteredLater.has(to)
        ? errorEntry(`"${to}" is not a registered push notification recipient`, "DeviceNotRegistered", to)
        : { status: "ok" };
    }
    return Response.json({ data });
  }
}

/**
 * Roughly what Expo hands Apple: the text in `aps.alert`, the data beside it, and Expo's own keys.
 * It is always more than the text and data alone, as on the real service.
 */
function providerPayloadBytes(message: ExpoMessage): number {
  const payload = {
    aps: { alert: { title: message.title, body: message.body }, badge: message.badge, sound: message.sound },
    body: message.data ?? {},
    experienceId: PROJECT,
    scopeKey: PROJECT,
  };
  return new TextEncoder().encode(JSON.stringify(payload)).byteLength;
}

function errorEntry(message: string, error: string, expoPushToken?: string): ErrorEntry {
  return { status: "error", message, details: expoPushToken ? { error, expoPushToken } : { error } };
}

function failed(
  status: number,
  code: string,
  message: string,
  options: { retryAfterSeconds?: number | undefined } = {},
): Response {
  const headers: Record<string, string> = {};
  if (options.retryAfterSeconds !== undefined) headers["retry-after"] = String(options.retryAfterSeconds);
  return Response.json({ errors: [{ code, message }] }, { status, headers });
}

function failureCode(status: number): string {
  if (status === 429) return "TOO_MANY_REQUESTS";
  if (status >= 500) return "INTERNAL_SERVER_ERROR";
  return "FAKE_FAILURE";
}

/** Never answers; gives up (as a dropped connection would) once the caller aborts. */
function hang(signal: AbortSignal): Promise<Response> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
}

async function readJson(request: Request, gzip: boolean): Promise<unknown> {
  try {
    const stream = gzip ? request.body?.pipeThrough(new DecompressionStream("gzip")) : request.body;
    return JSON.parse(await new Response(stream ?? null).text());
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

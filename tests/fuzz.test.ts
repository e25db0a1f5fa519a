import { exports } from "cloudflare:workers";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { newId } from "../src/lib/ids";
import { BASE, call, callJson, createUser, type TestUser } from "./helpers/api";
import { createApiToken } from "./helpers/auth";
import { type Assignment, delegate, registerAgent } from "./helpers/delegation";
import { startFocus } from "./helpers/focus";
import { preview } from "./helpers/imports";
import { inboxOf, notify } from "./helpers/notifications";
import { type JsonSchema, openApiDocument } from "./helpers/openapi";
import { fillPath, type PathIds } from "./helpers/path-ids";
import { adoptPet } from "./helpers/pets";
import { createRoom } from "./helpers/rooms";
import { createTask } from "./helpers/tasks";
import { createTemplate } from "./helpers/templates";

/**
 * Property tests: whatever a client sends to a JSON route, the answer is a success or a well-formed
 * problem document, never a 5xx. The routes, their fields and their query parameters come from the
 * served OpenAPI document, so new routes and fields are fuzzed without editing this file.
 */

interface BodyRoute {
  method: string;
  path: string;
  schema: JsonSchema;
  headerNames: string[];
}

/** What one request sends: a body (text or raw bytes) and the content type it claims. */
interface Payload {
  body: string | Uint8Array<ArrayBuffer>;
  contentType: string;
  headers?: Record<string, string>;
}

/** The real ids of the fuzzing user, for path parameters and as likely values in bodies. */
interface OwnIds extends PathIds {
  other_task_id: string;
  other_step_id: string;
  refresh_token: string;
}

const RUNS = 50;
const HTTP_METHODS = new Set(["get", "put", "post", "delete", "patch"]);
const JSON_TYPE = "application/json";

const doc = await openApiDocument();
const componentSchemas = doc.components.schemas;

/** Follows `$ref`s and merges `allOf` parts (how extended schemas are published) into one object. */
function resolve(schema: JsonSchema, seen: string[] = []): JsonSchema {
  if (schema.$ref) {
    const name = schema.$ref.replace("#/components/schemas/", "");
    const target = componentSchemas[name];
    if (!target || seen.includes(name)) return {};
    return resolve(target, [...seen, name]);
  }
  if (!schema.allOf) return schema;
  const { allOf, ...rest } = schema;
  const parts = [...allOf.map((part) => resolve(part, seen)), rest];
  return {
    ...rest,
    type: "object",
    properties: Object.assign({}, ...parts.map((part) => part.properties ?? {})),
    required: parts.flatMap((part) => part.required ?? []),
  };
}

const bodyRoutes: BodyRoute[] = Object.entries(doc.paths).flatMap(([path, operations]) =>
  Object.entries(operations)
    .filter(([method, op]) => HTTP_METHODS.has(method) && op.requestBody?.content?.[JSON_TYPE] !== undefined)
    .map(([method, op]) => ({
      method: method.toUpperCase(),
      path,
      schema: resolve(op.requestBody?.content?.[JSON_TYPE]?.schema ?? {}),
      headerNames: (op.parameters ?? []).filter((p) => p.in === "header").map((p) => p.name),
    })),
);
/** Routes whose body is a document of another kind (an .ics file): fuzzed with text of that kind below. */
const textRoutes = Object.entries(doc.paths).flatMap(([path, operations]) =>
  Object.entries(operations)
    .filter(([method, op]) => HTTP_METHODS.has(method) && op.requestBody !== undefined)
    .filter(([, op]) => op.requestBody?.content?.[JSON_TYPE] === undefined)
    .map(([method, op]) => ({
      method: method.toUpperCase(),
      path,
      mediaTypes: Object.keys(op.requestBody?.content ?? {}),
    })),
);
const listParameters = (doc.paths["/api/v1/tasks"]?.get?.parameters ?? []).filter((p) => p.in === "query");

// ---- sending and checking ----

const encoder = new TextEncoder();
let requestCounter = 0;

async function send(
  method: string,
  path: string,
  token: string,
  payload?: Payload,
): Promise<{ status: number; contentType: string; text: string }> {
  requestCounter += 1;
  const headers: Record<string, string> = {
    ...payload?.headers,
    authorization: `Bearer ${token}`,
    // A fresh client address per request: login failures must not lock the address for later runs.
    "cf-connecting-ip": `198.18.${(requestCounter >> 8) & 0xff}.${requestCounter & 0xff}`,
  };
  if (payload && payload.contentType !== "") headers["content-type"] = payload.contentType;
  const res = await exports.default.fetch(`${BASE}${path}`, { method, headers, body: payload?.body });
  const text = await res.text();
  return { status: res.status, contentType: res.headers.get("content-type") ?? "", text };
}

const describePayload = (payload: Payload) =>
  (payload.headers ? `${JSON.stringify(payload.headers)} ` : "") +
  (typeof payload.body === "string"
    ? `${payload.contentType} ${JSON.stringify(payload.body.slice(0, 500))}`
    : `${payload.contentType} bytes[${payload.body.byteLength}] ${Array.from(payload.body.slice(0, 80), (b) =>
        b.toString(16).padStart(2, "0"),
      ).join(" ")}`);

/** A 5xx a route documents as a legitimate answer, with the one problem code it may carry. */
interface Documented5xx {
  status: number;
  code: string;
}

/**
 * The only 5xx any fuzzed route may answer: delegating when none of the user's agents is free (or
 * of the preferred type, or capable enough) is a documented 503, not a server fault.
 */
const DOCUMENTED_5XX: Record<string, Documented5xx> = {
  "POST /api/v1/delegation/delegate": { status: 503, code: "no_available_agents" },
};

/**
 * Routes that speak JSON-RPC (MCP): a message they cannot read is answered 400 with a JSON-RPC error
 * document, the error their clients understand, instead of problem+json. Their other errors (401, 413,
 * 415) are problem documents like every route's.
 */
const JSON_RPC_ROUTES = new Set(["POST /mcp"]);

/** A JSON-RPC 2.0 error answer: `{ jsonrpc: "2.0", id, error: { code, message } }`. */
function isJsonRpcError(res: { contentType: string; text: string }): boolean {
  if (!res.contentType.startsWith("application/json")) return false;
  try {
    const body = JSON.parse(res.text) as { jsonrpc?: unknown; error?: { code?: unknown; message?: unknown } };
    return (
      body.jsonrpc === "2.0" && Number.isInteger(body.error?.code) && typeof body.error?.message === "string"
    );
  } catch {
    return false;
  }
}

/**
 * Never a 5xx, apart from the route's one documented 5xx with its own code; every error is
 * problem+json whose status matches the response's (or, on a JSON-RPC route, a JSON-RPC error 400).
 */
function assertWellFormed(
  request: string,
  res: { status: number; contentType: string; text: string },
  documented?: Documented5xx,
  jsonRpc = false,
) {
  const fail = (why: string): never => {
    throw new Error(`${request}\n→ ${res.status} ${res.contentType}: ${res.text.slice(0, 1000)}\n${why}`);
  };
  const isDocumented = documented !== undefined && res.status === documented.status;
  if (res.status >= 500 && !isDocumented) fail("a random request must never cause a 5xx");
  if (res.status < 400) return;
  if (jsonRpc && res.status === 400 && isJsonRpcError(res)) return;
  if (!res.contentType.includes("application/problem+json"))
    fail(`a ${res.status} must be application/problem+json`);
  let problem: Record<string, unknown> = {};
  try {
    problem = JSON.parse(res.text) as Record<string, unknown>;
  } catch {
    fail("a 4xx body must be JSON");
  }
  for (const field of ["type", "title", "detail", "code"]) {
    if (typeof problem[field] !== "string" || problem[field] === "")
      fail(`problem.${field} must be a string`);
  }
  if (problem.status !== res.status) fail("problem.status must equal the HTTP status");
  if (isDocumented && problem.code !== documented.code)
    fail(`the only ${documented.status} this route may answer has code "${documented.code}"`);
}

// ---- arbitraries ----

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
const garbageString = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary", maxLength: 60 }),
  fc.string({ unit: "grapheme", maxLength: 30 }),
  fc.string({ unit: fc.oneof(loneSurrogate, fc.string({ unit: "binary", maxLength: 1 })), maxLength: 20 }),
  fc.constantFrom(
    "",
    " ",
    "\u0000",
    "\u202e\u0000\ufeff",
    "'; DROP TABLE tasks; --",
    "%",
    "_",
    "\\",
    "null",
    "NaN",
    "1e999",
    "2026-13-45T25:61:61Z",
    "0000-01-01T00:00:00+00:00",
    "9999-12-31T23:59:59.999999999Z",
    "Europe/../../etc/passwd",
    "🙂".repeat(300),
    "x".repeat(10_001),
  ),
);
const hugeNumber = fc.oneof(
  fc.constantFrom(
    1e308,
    -1e308,
    Number.MAX_SAFE_INTEGER,
    Number.MAX_SAFE_INTEGER + 2,
    -Number.MAX_SAFE_INTEGER - 2,
    Number.MIN_VALUE,
    2 ** 31,
    2 ** 63,
    1e21,
    -0,
    0.5,
  ),
  fc.double(),
  fc.integer(),
);
const nestedArrays = fc.integer({ min: 1, max: 3000 }).map((depth) => {
  let value: unknown = [];
  for (let i = 0; i < depth; i++) value = [value];
  return value;
});
const nastyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.anything(),
  garbageString,
  hugeNumber,
  nestedArrays,
  fc.constantFrom(null, true, false, {}, [], [null], [""], [[]]),
  fc.array(garbageString, { maxLength: 60 }),
);

/** Values shaped by the schema (often valid), mixed with nasty ones and the user's real ids. */
function fromSchema(schema: JsonSchema, ids: string[], depth = 0): fc.Arbitrary<unknown> {
  const s = resolve(schema);
  const idValue = fc.constantFrom(...ids);
  const options: fc.Arbitrary<unknown>[] = [nastyValue];
  const variants = [...(s.anyOf ?? []), ...(s.oneOf ?? [])];
  for (const variant of variants) options.push(fromSchema(variant, ids, depth + 1));
  if (s.enum && s.enum.length > 0) {
    options.push(
      fc
        .constantFrom(...s.enum)
        .chain((v) =>
          typeof v === "string"
            ? fc.constantFrom(v, v.toUpperCase(), v.toLowerCase(), ` ${v} `)
            : fc.constant(v),
        ),
    );
  }
  const types = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
  for (const type of types) {
    if (type === "string" && !s.enum) {
      options.push(
        s.format === "date-time"
          ? fc.date({ noInvalidDate: true }).map((d) => d.toISOString())
          : fc.string({ minLength: s.minLength ?? 0, maxLength: Math.min(s.maxLength ?? 40, 40) }),
        idValue,
      );
      if (s.maxLength !== undefined) {
        const max = s.maxLength;
        options.push(fc.constantFrom("a".repeat(max), "é".repeat(max), "%".repeat(max), "a".repeat(max + 1)));
      }
    } else if (type === "integer" || type === "number") {
      options.push(
        // Bounds of a `number` need not be whole (1666.67 hours): the integers between them.
        fc.integer({
          min: Math.ceil(s.minimum ?? -1000),
          max: Math.floor(Math.min(s.maximum ?? 1000, 100_000)),
        }),
        hugeNumber,
      );
    } else if (type === "boolean") {
      options.push(fc.boolean());
    } else if (type === "null") {
      options.push(fc.constant(null));
    } else if (type === "array" && depth < 3) {
      options.push(fc.array(s.items ? fromSchema(s.items, ids, depth + 1) : nastyValue, { maxLength: 8 }));
    } else if (type === "object" && depth < 3 && s.properties) {
      options.push(recordFromSchema(s, ids, depth + 1));
    }
  }
  return fc.oneof(...options);
}

function recordFromSchema(schema: JsonSchema, ids: string[], depth = 0): fc.Arbitrary<unknown> {
  const properties = resolve(schema).properties ?? {};
  const fields = Object.fromEntries(
    Object.entries(properties).map(([key, prop]) => [key, fromSchema(prop, ids, depth)]),
  );
  return fc.record(fields, { requiredKeys: [] });
}

/** Strings some field somewhere accepts: zones, an email, a date, a capture line. */
const familiar = fc.constantFrom(
  "UTC",
  "Europe/Berlin",
  "America/New_York",
  "fuzz@example.com",
  new Date(Date.now() + 86_400_000).toISOString(),
  "call mum tomorrow 5pm !high #home ~10m",
);
const tagLike = fc.string({ unit: fc.constantFrom(..."abcxyzABC019_-é"), minLength: 1, maxLength: 12 });
const textLike = (min: number, max: number) =>
  fc.string({
    unit: fc.oneof(
      { weight: 9, arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 1 }) },
      loneSurrogate,
    ),
    minLength: Math.max(min, 1),
    maxLength: Math.max(Math.min(max, 40), Math.max(min, 1)),
  });

/** Values that satisfy the schema as far as JSON Schema can say (examples, enums, bounds, ids). */
function validish(schema: JsonSchema, ids: string[], depth = 0): fc.Arbitrary<unknown> {
  const s = resolve(schema);
  const options: fc.Arbitrary<unknown>[] = [];
  if (s.example !== undefined) options.push(fc.constant(s.example));
  for (const variant of [...(s.anyOf ?? []), ...(s.oneOf ?? [])])
    options.push(validish(variant, ids, depth + 1));
  if (s.enum && s.enum.length > 0) {
    options.push(
      fc
        .constantFrom(...s.enum)
        .chain((v) =>
          typeof v === "string" ? fc.constantFrom(v, v.toUpperCase(), v.toLowerCase()) : fc.constant(v),
        ),
    );
  }
  const types = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
  for (const type of types) {
    if (type === "string" && !s.enum) {
      if (s.format === "date-time")
        options.push(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()));
      else if (s.pattern) options.push(tagLike);
      else options.push(textLike(s.minLength ?? 1, s.maxLength ?? 40), fc.constantFrom(...ids), familiar);
    } else if (type === "integer" || type === "number") {
      const min = Math.ceil(s.minimum ?? -1000);
      options.push(fc.integer({ min, max: Math.floor(Math.min(s.maximum ?? min + 2000, min + 100_000)) }));
    } else if (type === "boolean") {
      options.push(fc.boolean());
    } else if (type === "null") {
      options.push(fc.constant(null));
    } else if (type === "array" && depth < 3) {
      const minLength = s.minItems ?? 0;
      options.push(
        fc.array(s.items ? validish(s.items, ids, depth + 1) : fc.anything(), {
          minLength,
          maxLength: Math.max(minLength, Math.min(s.maxItems ?? 5, 5)),
        }),
      );
    } else if (type === "object" && depth < 3) {
      const properties = s.properties ?? {};
      const fields = Object.fromEntries(
        Object.entries(properties).map(([key, prop]) => [key, validish(prop, ids, depth + 1)]),
      );
      options.push(fc.record(fields, { requiredKeys: (s.required ?? []).filter((k) => k in properties) }));
    }
  }
  return options.length > 0 ? fc.oneof(...options) : fc.anything();
}

/** A schema-valid-looking object with, half the time, one known field set to a nasty value. */
function validishWithOneCorruptField(schema: JsonSchema, ids: string[]): fc.Arbitrary<unknown> {
  const keys = keysOf(schema);
  return fc
    .tuple(validish(schema, ids), fc.option(fc.tuple(keyArb(keys), nastyValue), { freq: 2 }))
    .map(([value, corruption]) =>
      corruption && typeof value === "object" && value !== null
        ? { ...value, [corruption[0]]: corruption[1] }
        : value,
    );
}

const keysOf = (schema: JsonSchema) => Object.keys(resolve(schema).properties ?? {});
const jsonPayload = (value: unknown): Payload => ({
  body: JSON.stringify(value) ?? "",
  contentType: JSON_TYPE,
});
const concatBytes = (...parts: (string | Uint8Array)[]) => {
  const chunks = parts.map((p) => (typeof p === "string" ? encoder.encode(p) : p));
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
};
const keyArb = (keys: string[]) => (keys.length > 0 ? fc.constantFrom(...keys) : fc.string());

/** A header value fetch accepts: any Latin-1 text without NUL, CR or LF; few keys, so some repeat. */
const headerValue = fc.oneof(
  fc.constantFrom("k1", "k2", "k3", "", " ", "é", "\u00ff".repeat(300), "a".repeat(256)),
  fc.string({ unit: "binary-ascii", maxLength: 40 }).filter((v) => !/[\0\r\n]/.test(v)),
);

/** The body strategies, each one `it`: the same strategy list fuzzes every JSON route. */
function bodyStrategies(route: BodyRoute, ids: string[]): [string, fc.Arbitrary<Payload>][] {
  const { schema } = route;
  const keys = keysOf(schema);
  const declaredHeaders: [string, fc.Arbitrary<Payload>][] =
    route.headerNames.length === 0
      ? []
      : [
          [
            "schema-valid-looking objects with random values for its declared headers",
            fc
              .tuple(
                validishWithOneCorruptField(schema, ids),
                fc.dictionary(fc.constantFrom(...route.headerNames), headerValue, { minKeys: 1 }),
              )
              .map(([value, headers]) => ({ ...jsonPayload(value), headers })),
          ],
        ];
  const invalidUtf8 = fc.oneof(
    fc.constantFrom(
      new Uint8Array([0xff, 0xfe]),
      new Uint8Array([0xc3, 0x28]),
      new Uint8Array([0xed, 0xa0, 0x80]),
      new Uint8Array([0xf4, 0x90, 0x80, 0x80]),
      new Uint8Array([0xe2, 0x82]),
      new Uint8Array([0x00]),
    ),
    fc.uint8Array({ minLength: 1, maxLength: 64 }),
  );
  return [
    ["fc.anything() values as JSON", fc.anything().map(jsonPayload)],
    ["fc.json() documents sent raw", fc.json().map((body) => ({ body, contentType: JSON_TYPE }))],
    [
      "objects with the route's own keys and arbitrary values",
      fc.dictionary(keyArb(keys), nastyValue, { maxKeys: Math.max(keys.length, 1) }).map(jsonPayload),
    ],
    [
      "objects shaped by the route's schema, mixed with nasty values",
      recordFromSchema(schema, ids).map(jsonPayload),
    ],
    [
      "schema-valid-looking objects with at most one corrupted field",
      validishWithOneCorruptField(schema, ids).map(jsonPayload),
    ],
    [
      "invalid UTF-8 and garbage bytes, bare or inside a JSON string",
      fc.oneof(
        invalidUtf8.map((bytes) => ({ body: bytes, contentType: JSON_TYPE })),
        fc
          .tuple(keyArb(keys), invalidUtf8)
          .map(([key, bytes]) => ({ body: concatBytes(`{"${key}":"`, bytes, `"}`), contentType: JSON_TYPE })),
      ),
    ],
    [
      "huge and out-of-range numbers written as raw JSON text",
      fc
        .tuple(
          keyArb(keys),
          fc.constantFrom(
            "1e999",
            "-1e999",
            "1e-999",
            "-0",
            "123456789012345678901234567890",
            "9007199254740993",
            "0.0000000000000000000001",
            "1E400",
          ),
        )
        .map(([key, number]) => ({ body: `{"${key}":${number}}`, contentType: JSON_TYPE })),
    ],
    [
      "deeply nested arrays, in the body or under a known key",
      fc
        .tuple(keyArb(keys), fc.integer({ min: 1, max: 100_000 }), fc.boolean())
        .map(([key, depth, wrapped]) => {
          const nested = `${"[".repeat(depth)}${"]".repeat(depth)}`;
          return { body: wrapped ? `{"${key}":${nested}}` : nested, contentType: JSON_TYPE };
        }),
    ],
    [
      "bodies with a missing, wrong or odd content type",
      fc
        .tuple(
          fc.oneof(
            recordFromSchema(schema, ids).map((v) => JSON.stringify(v) ?? ""),
            fc.json(),
            garbageString,
          ),
          fc.constantFrom(
            "",
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/json; charset=latin1",
            "application/merge-patch+json",
            "APPLICATION/JSON",
            "application/jsonp",
          ),
        )
        .map(([body, contentType]) => ({ body, contentType })),
    ],
    ...declaredHeaders,
  ];
}

async function ownUser(): Promise<{ user: TestUser; ids: OwnIds }> {
  const user = await createUser();
  const task = await createTask(user, {
    title: "Fuzz target",
    micro_steps: [{ description: "One" }, { description: "Two" }],
  });
  const other = await createTask(user, { title: "Other", depends_on: [task.task_id] });
  const token = await createApiToken(user.token, { name: "fuzz", scopes: ["tasks:read"] });
  const [one, two] = task.micro_steps ?? [];
  // Room for every assignment the fuzzing hands it, so DELEGATE can succeed again and again.
  const agent = await registerAgent(user, { max_concurrent_tasks: 100 });
  const pet = await adoptPet(user);
  const template = await createTemplate(user, { name: "Fuzz template", steps: [{ description: "One" }] });
  await notify(user);
  const [notification] = await inboxOf(user);
  const device = await callJson<{ device_id: string }>("/api/v1/notifications/devices", 201, {
    token: user.token,
    body: { expo_push_token: `ExponentPushToken[fuzz-${crypto.randomUUID()}]`, platform: "android" },
  });
  const webhook = await callJson<{ webhook_id: string }>("/api/v1/webhooks", 201, {
    token: user.token,
    body: { url: "https://hooks.example.com/fuzz", event_types: ["*"] },
  });
  const delivery = await callJson<{ delivery_id: string }>(
    `/api/v1/webhooks/${webhook.webhook_id}/test`,
    202,
    {
      token: user.token,
      method: "POST",
    },
  );
  const hook = await callJson<{ id: string }>("/api/v1/hooks", 201, {
    token: user.token,
    body: { target_url: "https://hooks.example.com/fuzz-hook", event: "task.completed" },
  });
  const shared = await callJson<{ share_id: string }>("/api/v1/social/share", 201, {
    token: user.token,
    body: { kind: "task", ref_id: task.task_id },
  });
  const imported = await preview(user, "csv", "Title\nFuzz import\n", { title: "Title" });
  const room = await createRoom(user, { name: "Fuzz room" });
  return {
    user,
    ids: {
      task_id: task.task_id,
      other_task_id: other.task_id,
      step_id: one?.step_id ?? "",
      other_step_id: two?.step_id ?? "",
      token_id: token.id,
      refresh_token: user.refreshToken,
      agent_id: agent.agent_id,
      assignment_id: await readyAssignment(user, agent.agent_id, "accept"),
      session_id: (await readyFocus(user, true)) ?? "",
      user_id: user.id,
      pet_id: pet.pet_id,
      template_id: template.template_id,
      notification_id: notification?.notification_id ?? "",
      device_id: device.device_id,
      webhook_id: webhook.webhook_id,
      delivery_id: delivery.delivery_id,
      hook_id: hook.id,
      share_id: shared.share_id,
      import_id: imported.import_id,
      // No route with a body takes an export's id: any id fills the type.
      export_id: newId(),
      room_id: room.room_id,
    },
  };
}

const FOCUS_STARTS = new Set(["POST /api/v1/focus/enhanced/start", "POST /api/v1/focus/sessions"]);

/**
 * Puts the user's focus timer where a fuzzed focus route can succeed: idle for a start, otherwise a
 * fresh running session (whose id it returns), so the runs after a success do not all just get 409.
 */
async function readyFocus(user: TestUser, running: boolean): Promise<string | undefined> {
  for (const action of ["abandon", "skip-break"]) {
    await (await call(`/api/v1/focus/enhanced/${action}`, { method: "POST", token: user.token })).text();
  }
  if (!running) return undefined;
  const state = await startFocus(user, { kind: "custom", duration_minutes: 30 });
  return state.session?.session_id;
}

/** The moves that bring a new (pending) assignment to where each move can be made on it. */
const MOVES_BEFORE: Record<string, string[]> = {
  accept: [],
  reject: [],
  start: ["accept"],
  complete: ["accept", "start"],
};

/** Writes on an assignment that leave its status as it is: any assignment of the user's will do. */
const NOT_MOVES = new Set(["notes"]);

/** The move a path makes on its `{assignment_id}` (its last segment), if it makes one. */
const moveOf = (path: string) => {
  const last = path.split("/").at(-1) ?? "";
  return path.includes("{assignment_id}") && !NOT_MOVES.has(last) ? last : undefined;
};

/**
 * A new task of the user's, delegated to the user's agent and moved on so that `move` is legal on
 * it: a fuzzed move that succeeds gets a fresh one, so the runs after it do not all just get 409.
 */
async function readyAssignment(user: TestUser, agentId: string, move: string): Promise<string> {
  const before = MOVES_BEFORE[move];
  if (!before) throw new Error(`No way to prepare an assignment for "${move}": teach the fuzzer about it`);
  const task = await createTask(user, {
    title: `Delegated fuzz target for ${move}`,
    micro_steps: [{ description: "Step" }],
  });
  const { assignment, assigned_agent } = await delegate(user, {
    task_id: task.task_id,
    delegation_mode: "DELEGATE",
  });
  if (!assignment || assigned_agent?.agent_id !== agentId)
    throw new Error(`The fuzz task was not delegated to the user's agent ${agentId}`);
  for (const step of before) {
    await callJson<Assignment>(`/api/v1/delegation/assignments/${assignment.assignment_id}/${step}`, 200, {
      method: "POST",
      token: user.token,
    });
  }
  return assignment.assignment_id;
}

// ---- the properties ----

/** JSON-body routes today; the fuzzer must never silently cover fewer (say, after a spec change). */
const MIN_BODY_ROUTES = 53;

describe("the fuzzed routes", () => {
  it(`are every JSON-body route in the OpenAPI document (at least ${MIN_BODY_ROUTES}), each with known fields`, () => {
    expect(bodyRoutes.length).toBeGreaterThanOrEqual(MIN_BODY_ROUTES);
    for (const route of bodyRoutes)
      expect(keysOf(route.schema), `${route.method} ${route.path}`).not.toEqual([]);
    expect(listParameters.map((p) => p.name)).toContain("q");
  });
});

describe.each(bodyRoutes.map((route) => [`${route.method} ${route.path}`, route] as const))(
  "%s",
  (_name, route) => {
    let user: TestUser;
    let ids: OwnIds;
    const move = moveOf(route.path);
    const documented = DOCUMENTED_5XX[`${route.method} ${route.path}`];
    const jsonRpc = JSON_RPC_ROUTES.has(`${route.method} ${route.path}`);
    const focusRoute = route.path.startsWith("/api/v1/focus/");
    const focusStart = FOCUS_STARTS.has(`${route.method} ${route.path}`);
    beforeAll(async () => {
      ({ user, ids } = await ownUser());
      // The assignment in the path starts where this route's move is legal.
      if (move !== undefined)
        ids = { ...ids, assignment_id: await readyAssignment(user, ids.agent_id, move) };
      if (focusStart) await readyFocus(user, false);
    });

    const strategyNames = bodyStrategies(route, ["x"]).map(([name]) => name);
    it.each(strategyNames)(
      "answers %s with a success or a well-formed problem, never a 5xx",
      async (name) => {
        const strategy = bodyStrategies(route, Object.values(ids)).find(([n]) => n === name);
        if (!strategy) throw new Error(`Unknown strategy ${name}`);
        await fc.assert(
          fc.asyncProperty(strategy[1], async (payload) => {
            const path = fillPath(route.path, ids);
            const res = await send(route.method, path, user.token, payload);
            assertWellFormed(`${route.method} ${path} ${describePayload(payload)}`, res, documented, jsonRpc);
            // The move happened: the next run gets an assignment it can make the move on again.
            if (move !== undefined && res.status < 300)
              ids = { ...ids, assignment_id: await readyAssignment(user, ids.agent_id, move) };
            // Likewise for the focus timer: back to where this route can succeed again.
            if (focusRoute && res.status < 300) {
              const sessionId = await readyFocus(user, !focusStart);
              if (sessionId) ids = { ...ids, session_id: sessionId };
            }
          }),
          { numRuns: RUNS },
        );
      },
    );
  },
);

// ---- text documents (an .ics file for the calendar import) ----

/** Routes taking a text document today; the fuzzer must never silently cover fewer. */
const MIN_TEXT_ROUTES = 1;

const anyInstant = fc.date({ noInvalidDate: true, min: new Date(0), max: new Date(8_000_000_000_000) });
const icsValue = fc.oneof(
  anyInstant.map((d) =>
    d
      .toISOString()
      .replace(/\.\d{3}Z$/, "Z")
      .replace(/[-:]/g, ""),
  ),
  anyInstant.map((d) => d.toISOString().slice(0, 10).replaceAll("-", "")),
  // Around now, so that expansion and imports really happen.
  fc.integer({ min: -400, max: 400 }).map((days) =>
    new Date(Date.now() + days * 86_400_000)
      .toISOString()
      .replace(/\.\d{3}Z$/, "Z")
      .replace(/[-:]/g, ""),
  ),
  fc.constantFrom(
    "FREQ=DAILY",
    "FREQ=DAILY;COUNT=999999999",
    "FREQ=WEEKLY;BYDAY=MO,WE,FR;INTERVAL=2;WKST=SU",
    "FREQ=MONTHLY;BYDAY=-1FR,2MO",
    "FREQ=MONTHLY;BYMONTHDAY=31,-1",
    "FREQ=YEARLY;INTERVAL=4",
    "FREQ=HOURLY",
    "FREQ=DAILY;COUNT=0",
    "FREQ=SECONDLY;BYSETPOS=1",
    "FREQ=DAILY;INTERVAL=1000000000",
    "FREQ=MONTHLY;INTERVAL=999999999",
    "FREQ=MONTHLY;BYDAY=9MO",
    "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=1",
    "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1,999",
    "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29,-1;BYDAY=4TH",
    "FREQ=DAILY;BYMONTH=13",
    `FREQ=MONTHLY;COUNT=85000;BYDAY=${["MO", "TU", "WE", "TH", "FR", "SA", "SU"].map((d) => `-1${d}`).join(",")}`,
    `FREQ=MONTHLY;BYDAY=${Array(60).fill("1MO").join(",")}`,
    `FREQ=DAILY;COUNT=${"9".repeat(400)}`,
    "10000101T090000Z",
    "99991231T235959Z",
    "P99999999W",
    `P${"9".repeat(400)}D`,
    "PT99999999999999999999S",
    "-P99999999D",
    "99999999999999999999",
    "9".repeat(400),
    "-1",
    "FREQ=",
    "PT1H",
    "P1W",
    "-P1D",
    "P",
    "99999999T999999Z",
    "COMPLETED",
    "CANCELLED",
    "focus-session",
    "completed",
  ),
);
const icsLine = fc.oneof(
  fc.constantFrom(
    "BEGIN:VEVENT",
    "END:VEVENT",
    "BEGIN:VTODO",
    "END:VTODO",
    "BEGIN:VCALENDAR",
    "END:VCALENDAR",
    "BEGIN:VALARM",
    "END:VALARM",
    " folded continuation",
    "UID:fuzz-1",
  ),
  fc
    .tuple(
      fc.constantFrom(
        "DTSTART",
        "DTEND",
        "DUE",
        "EXDATE",
        "RDATE",
        "RECURRENCE-ID",
        "RRULE",
        "DURATION",
        "SUMMARY",
        "UID",
        "SEQUENCE",
        "STATUS",
        "PRIORITY",
        "DESCRIPTION",
        "X-PROXY-AGENT-KIND",
        "X-PROXY-AGENT-STATUS",
      ),
      fc.constantFrom(
        "",
        ";VALUE=DATE",
        ";TZID=Europe/Berlin",
        ';TZID="Nowhere/Else"',
        ";TZID=W. Europe Standard Time",
        ";VALUE=PERIOD",
        ';X="unclosed',
        ";NOVALUE",
      ),
      fc.oneof(icsValue, garbageString),
    )
    .map(([name, params, value]) => `${name}${params}:${value}`),
  garbageString,
);
/** A calendar with a few valid items, then edited: lines inserted, replaced or dropped at random. */
const icsDocument = fc
  .tuple(
    fc.array(
      fc.tuple(fc.nat(40), fc.oneof(icsLine, fc.constant("")), fc.constantFrom("insert", "replace", "drop")),
      {
        maxLength: 12,
      },
    ),
    fc.constantFrom("\r\n", "\n", "\r"),
  )
  .map(([edits, eol]) => {
    const soon = new Date(Date.now() + 86_400_000)
      .toISOString()
      .replace(/\.\d{3}Z$/, "Z")
      .replace(/[-:]/g, "");
    const lines = [
      "BEGIN:VCALENDAR",
      "VERSION:2.0",
      "BEGIN:VEVENT",
      "UID:fuzz-event",
      `DTSTART:${soon}`,
      "RRULE:FREQ=WEEKLY;COUNT=3",
      "SUMMARY:Fuzzed event",
      "END:VEVENT",
      "BEGIN:VTODO",
      "UID:fuzz-todo",
      `DUE:${soon}`,
      "SUMMARY:Fuzzed to-do",
      "END:VTODO",
      "END:VCALENDAR",
    ];
    for (const [at, line, edit] of edits) {
      const i = at % (lines.length + 1);
      if (edit === "insert") lines.splice(i, 0, line);
      else if (edit === "replace") lines.splice(i, 1, line);
      else lines.splice(i, 1);
    }
    return lines.join(eol);
  });

describe("the routes taking a text document", () => {
  it(`are at least ${MIN_TEXT_ROUTES}, each declaring its media types`, () => {
    expect(textRoutes.length).toBeGreaterThanOrEqual(MIN_TEXT_ROUTES);
    for (const route of textRoutes) expect(route.mediaTypes, route.path).not.toEqual([]);
  });
});

describe.each(textRoutes.map((route) => [`${route.method} ${route.path}`, route] as const))(
  "%s",
  (_name, route) => {
    let user: TestUser;
    beforeAll(async () => {
      user = await createUser();
    });
    const strategies: [string, fc.Arbitrary<Payload>][] = [
      ["edited calendars", icsDocument.map((body) => ({ body, contentType: route.mediaTypes[0] ?? "" }))],
      [
        "lines of calendar-like text",
        fc
          .array(icsLine, { maxLength: 30 })
          .map((lines) => ({ body: lines.join("\r\n"), contentType: "text/calendar" })),
      ],
      ["arbitrary text", garbageString.map((body) => ({ body, contentType: "text/plain" }))],
      [
        "bytes that are not UTF-8, under any content type",
        fc
          .tuple(
            fc.uint8Array({ maxLength: 200 }),
            fc.constantFrom("", "text/calendar", "application/json", "application/octet-stream"),
          )
          .map(([bytes, contentType]) => ({
            body: concatBytes("BEGIN:VCALENDAR\r\nSUMMARY:", bytes, "\r\n"),
            contentType,
          })),
      ],
    ];
    it.each(strategies.map(([name]) => name))(
      "answers %s with a success or a well-formed problem, never a 5xx",
      async (name) => {
        const strategy = strategies.find(([n]) => n === name);
        if (!strategy) throw new Error(`Unknown strategy ${name}`);
        await fc.assert(
          fc.asyncProperty(strategy[1], fc.boolean(), async (payload, preview) => {
            const path = `${route.path}${preview ? "?preview=true" : ""}`;
            const res = await send(route.method, path, user.token, payload);
            assertWellFormed(`${route.method} ${path} ${describePayload(payload)}`, res);
          }),
          { numRuns: RUNS },
        );
      },
    );
  },
);

describe("POST /api/v1/delegation/delegate with the user's own tasks and agents", () => {
  const ROUTE = "POST /api/v1/delegation/delegate";
  const CAPABILITIES = ["typescript", "pytest", "react"];
  let user: TestUser;
  let ids: OwnIds;
  let small: { agent_id: string; agent_type: string };

  beforeAll(async () => {
    ({ user, ids } = await ownUser());
    // A second agent with room for one task, so that preferring its type soon answers 503.
    const agent = await registerAgent(user, {
      agent_type: "fuzz-small",
      capabilities: CAPABILITIES,
      max_concurrent_tasks: 1,
    });
    small = { agent_id: agent.agent_id, agent_type: agent.agent_type };
  });

  // The generic strategies above rarely name a real task; these bodies always may, so delegating
  // succeeds, conflicts (already assigned), runs out of agents (503) or deletes, run after run.
  it("answers every mode on real and fresh tasks with a success, a well-formed problem or the documented 503", async () => {
    const modes = fc.constantFrom("DO", "DO_WITH_ME", "DELEGATE", "DELETE", "delegate", "Do_With_Me");
    const agentType = fc.option(fc.oneof(fc.constantFrom("backend-tdd", "fuzz-small"), tagLike), {
      freq: 2,
    });
    const capabilities = fc.option(
      fc.array(fc.oneof(fc.constantFrom(...CAPABILITIES), tagLike), { maxLength: 4 }),
      { freq: 2 },
    );
    // Mostly a fresh task, else ones earlier runs may have delegated or deleted, or a step's id.
    const taskChoice = fc.oneof(
      { weight: 3, arbitrary: fc.constant("fresh") },
      { weight: 1, arbitrary: fc.constantFrom("task", "other", "step") },
    );
    const documented = DOCUMENTED_5XX[ROUTE];
    const seen = new Set<number>();
    await fc.assert(
      fc.asyncProperty(
        fc.record({ mode: modes, agentType, capabilities, taskChoice }),
        async ({ mode, agentType, capabilities, taskChoice }) => {
          const taskId =
            taskChoice === "fresh"
              ? (await createTask(user, { title: "Fresh delegation target" })).task_id
              : taskChoice === "task"
                ? ids.task_id
                : taskChoice === "other"
                  ? ids.other_task_id
                  : ids.step_id;
          const body = {
            task_id: taskId,
            delegation_mode: mode,
            ...(agentType !== null ? { prefer_agent_type: agentType } : {}),
            ...(capabilities !== null ? { required_capabilities: capabilities } : {}),
          };
          const payload = jsonPayload(body);
          const res = await send("POST", "/api/v1/delegation/delegate", user.token, payload);
          assertWellFormed(`${ROUTE} ${describePayload(payload)}`, res, documented);
          seen.add(res.status);
          // Whatever was claimed is one of this user's agents.
          if (res.status === 200) {
            const result = JSON.parse(res.text) as { assigned_agent: { agent_id: string } | null };
            if (result.assigned_agent)
              expect([ids.agent_id, small.agent_id]).toContain(result.assigned_agent.agent_id);
          }
        },
      ),
      { numRuns: RUNS },
    );
    // The property saw more than errors: some delegation went through.
    expect([...seen]).toContain(200);
  });
});

describe("GET /api/v1/tasks with random query strings", () => {
  let user: TestUser;
  let ids: OwnIds;
  beforeAll(async () => {
    ({ user, ids } = await ownUser());
  });

  const rawChunk = fc.oneof(
    garbageString,
    fc.constantFrom(
      "%",
      "%E0%A4%A",
      "%ZZ",
      "%00",
      "%C0%AF",
      "%ED%A0%80",
      "&&",
      "==",
      "a=b=c",
      "+",
      "[]",
      "%2",
      ";",
    ),
  );

  // Regression: a long `q` once reached D1 as a LIKE pattern over its 50-byte limit (500).
  it("answers random parameter names and values with a success or a well-formed problem", async () => {
    const names = listParameters.map((p) => p.name);
    const ownPair = fc.oneof(
      ...listParameters.map((p) =>
        fc.tuple(
          fc.constant(p.name),
          fromSchema(p.schema ?? {}, Object.values(ids)).map((v) =>
            typeof v === "string" ? v : (JSON.stringify(v) ?? ""),
          ),
        ),
      ),
    );
    const strayPair = fc.tuple(
      fc.oneof(
        fc.constantFrom(...names).map((n) => `${n}[]`),
        fc.string(),
      ),
      garbageString,
    );
    // Every string parameter at its documented maximum length, in multi-byte characters.
    const atLimit: [[string, string][]][] = listParameters.flatMap((p) => {
      const max = resolve(p.schema ?? {}).maxLength;
      return max === undefined ? [] : [[[[p.name, "é".repeat(max)]]]];
    });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(ownPair, strayPair), { maxLength: 8 }), async (pairs) => {
        const query = new URLSearchParams(pairs).toString();
        const res = await send("GET", `/api/v1/tasks?${query}`, user.token);
        assertWellFormed(`GET /api/v1/tasks?${query}`, res);
      }),
      { numRuns: RUNS, examples: atLimit },
    );
  });

  it("answers raw, badly encoded query strings with a success or a well-formed problem", async () => {
    const names = listParameters.map((p) => p.name);
    const chunk = fc.oneof(
      rawChunk,
      fc.tuple(fc.constantFrom(...names), rawChunk).map(([name, value]) => `${name}=${value}`),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(chunk, { maxLength: 6 }), async (chunks) => {
        const query = chunks.join("&");
        const res = await send("GET", `/api/v1/tasks?${query}`, user.token);
        assertWellFormed(`GET /api/v1/tasks?${JSON.stringify(query)}`, res);
      }),
      { numRuns: RUNS },
    );
  });
});

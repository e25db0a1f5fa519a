import { exports } from "cloudflare:workers";
import { dereference, type Schema, validate } from "@cfworker/json-schema";

/**
 * The contract check every response of the suite goes through: the status must be one the route
 * documents in /openapi.json, and a JSON body must match the schema documented for that status and
 * media type. The suite thereby tests the document as much as the code.
 */

interface MediaType {
  schema?: Schema;
}
interface Operation {
  responses: Record<string, { content?: Record<string, MediaType> }>;
}
interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
}
interface CompiledPath {
  template: string;
  pattern: RegExp;
  params: number;
  operations: Record<string, Operation>;
}
interface Contract {
  paths: CompiledPath[];
  lookup: Record<string, Schema | boolean>;
}

const DOCUMENT_URL = "https://contract.test/openapi.json";
// Routes the document does not describe (itself, its page).
const UNDOCUMENTED = new Set(["/openapi.json", "/docs"]);

let contract: Promise<Contract> | undefined;

async function loadContract(): Promise<Contract> {
  const res = await exports.default.fetch(DOCUMENT_URL);
  const doc = (await res.json()) as OpenApiDocument & { $id?: string };
  // Every `#/components/…` reference resolves inside the document itself.
  const lookup = dereference({ ...doc, $id: DOCUMENT_URL } as Schema);
  const paths = Object.entries(doc.paths).map(([template, operations]) => {
    const params = (template.match(/\{[^}]+\}/g) ?? []).length;
    const source = template
      .split(/\{[^}]+\}/)
      .map((part) => part.replace(/[.*+?^$()|[\]\\]/g, "\\$&"))
      .join("[^/]+");
    return { template, pattern: new RegExp(`^${source}$`), params, operations };
  });
  // The most specific template answers first: "/tasks/next" before "/tasks/{task_id}".
  paths.sort((a, b) => a.params - b.params || b.template.length - a.template.length);
  return { paths, lookup };
}

const mediaTypeOf = (contentType: string | null) => (contentType ?? "").split(";")[0]?.trim().toLowerCase();
const isJson = (mediaType: string) => mediaType === "application/json" || mediaType.endsWith("+json");

/** Throws, naming the route and what broke, when `res` is not what the document promises. */
export async function checkContract(method: string, url: string, res: Response): Promise<void> {
  // The router is not strict about one trailing slash (`/capture/` is `/capture`), nor is this check.
  const path = new URL(url).pathname.replace(/(.)\/$/, "$1");
  // CORS preflights are answered by the CORS middleware for every route, not by a route.
  if (UNDOCUMENTED.has(path) || method.toUpperCase() === "OPTIONS") return;
  contract ??= loadContract();
  const { paths, lookup } = await contract;
  const verb = method.toLowerCase();
  const route = paths.find((p) => p.pattern.test(path) && p.operations[verb] !== undefined);
  const fail = (why: string): never => {
    throw new Error(`Contract: ${method} ${route?.template ?? path} answered ${res.status}: ${why}`);
  };
  if (!route) {
    // Paths and methods the API does not have answer 404 (or 405), like any unknown route.
    if (res.status !== 404 && res.status !== 405) fail("this route is not in /openapi.json");
    return;
  }
  const operation = route.operations[verb] as Operation;
  const documented = operation.responses[String(res.status)] ?? operation.responses.default;
  if (!documented) {
    fail(`the route documents only ${Object.keys(operation.responses).join(", ")}`);
    return;
  }
  const content = documented.content;
  if (!content || res.status === 101) return;
  const mediaType = mediaTypeOf(res.headers.get("content-type"));
  const media = content[mediaType ?? ""];
  if (!media) {
    fail(`content-type ${mediaType || "(none)"} is not documented (${Object.keys(content).join(", ")})`);
    return;
  }
  if (!media.schema || !isJson(mediaType ?? "")) return;
  const text = await res.clone().text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    fail("the body is not JSON");
  }
  const result = validate(body, media.schema, "2020-12", lookup, false);
  if (!result.valid) {
    const errors = result.errors
      .filter((e) => e.keyword !== "properties" && e.keyword !== "items" && e.keyword !== "$ref")
      .slice(0, 5)
      .map((e) => `${e.instanceLocation}: ${e.error}`);
    fail(`the body does not match its schema:\n  ${errors.join("\n  ")}\n  body: ${text.slice(0, 500)}`);
  }
}

/**
 * Which URLs a webhook may be sent to. A user names the URL and the Worker calls it, so an unchecked URL
 * would let anyone make our network call loopback, private or cloud-metadata addresses (SSRF).
 *
 * Only IP literals and names that never resolve publicly are judged here: the check is pure and takes no
 * DNS answer. A public name pointing at a private address is left to the network the Worker runs on.
 */

export type WebhookUrlCheck = { ok: true; url: URL } | { ok: false; reason: string };

export interface WebhookUrlOptions {
  /** Local development (`npm start`): plain http to this machine's loopback, so a user can try a receiver. */
  allowLocal: boolean;
}

export const MAX_WEBHOOK_URL_LENGTH = 2048;

/** The only hosts local development may call, spelled as the URL parser writes them. */
const LOCAL_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

const PUBLIC_ONLY = "webhooks only go to public addresses.";

type V4Range = { base: number; bits: number; kind: string };

/** Address blocks no webhook may reach (RFC 6890 special-purpose registry, the ones that matter). */
const V4_REFUSED: readonly V4Range[] = [
  { base: v4(0, 0, 0, 0), bits: 8, kind: "a 'this network' address" },
  { base: v4(10, 0, 0, 0), bits: 8, kind: "a private address" },
  { base: v4(100, 64, 0, 0), bits: 10, kind: "a shared (carrier-grade NAT) address" },
  { base: v4(127, 0, 0, 0), bits: 8, kind: "a loopback address" },
  { base: v4(169, 254, 169, 254), bits: 32, kind: "the cloud metadata address" },
  { base: v4(169, 254, 0, 0), bits: 16, kind: "a link-local address" },
  { base: v4(172, 16, 0, 0), bits: 12, kind: "a private address" },
  { base: v4(192, 0, 0, 0), bits: 24, kind: "a reserved address" },
  { base: v4(192, 0, 2, 0), bits: 24, kind: "a documentation address" },
  { base: v4(192, 168, 0, 0), bits: 16, kind: "a private address" },
  { base: v4(198, 18, 0, 0), bits: 15, kind: "a reserved (benchmarking) address" },
  { base: v4(198, 51, 100, 0), bits: 24, kind: "a documentation address" },
  { base: v4(203, 0, 113, 0), bits: 24, kind: "a documentation address" },
  { base: v4(224, 0, 0, 0), bits: 4, kind: "a multicast address" },
  { base: v4(255, 255, 255, 255), bits: 32, kind: "the broadcast address" },
  { base: v4(240, 0, 0, 0), bits: 4, kind: "a reserved address" },
];

function v4(a: number, b: number, c: number, d: number): number {
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

function inV4Range(address: number, { base, bits }: V4Range): boolean {
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return (address & mask) >>> 0 === base;
}

/** Why an IPv4 address is refused, or null when it is public. */
function v4Refusal(address: number): string | null {
  return V4_REFUSED.find((range) => inV4Range(address, range))?.kind ?? null;
}

/**
 * The URL parser writes every IPv4 host in dotted decimal (it has already turned `2130706433`,
 * `0x7f000001`, `0177.0.0.1` and `127.1` into `127.0.0.1`), so only that form needs reading.
 */
function parseV4(host: string): number | null {
  const parts = host.split(".");
  if (parts.length !== 4 || !parts.every((part) => /^\d{1,3}$/.test(part))) return null;
  const octets = parts.map(Number);
  if (octets.some((octet) => octet > 255)) return null;
  const [a = 0, b = 0, c = 0, d = 0] = octets;
  return v4(a, b, c, d);
}

/** Eight 16-bit pieces of an IPv6 host as the URL parser writes it (bracketed, lowercase hex, `::`). */
function parseV6(host: string): number[] | null {
  const inner = host.slice(1, -1);
  const halves = inner.split("::");
  if (halves.length > 2) return null;
  const piecesOf = (text: string) => (text === "" ? [] : text.split(":"));
  const head = piecesOf(halves[0] ?? "");
  const tail = halves.length === 2 ? piecesOf(halves[1] ?? "") : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  if (!all.every((piece) => /^[0-9a-f]{1,4}$/.test(piece))) return null;
  return all.map((piece) => Number.parseInt(piece, 16));
}

function v4From(high: number, low: number): number {
  return ((high << 16) | low) >>> 0;
}

function dotted(address: number): string {
  return [24, 16, 8, 0].map((shift) => (address >>> shift) & 0xff).join(".");
}

/** Why an IPv6 address is refused, or null when it is public. Embedded IPv4 addresses are judged as IPv4. */
function v6Refusal(p: number[]): string | null {
  const [p0 = 0, p1 = 0, p2 = 0, p3 = 0, p4 = 0, p5 = 0, p6 = 0, p7 = 0] = p;
  const firstFiveZero = p0 === 0 && p1 === 0 && p2 === 0 && p3 === 0 && p4 === 0;
  if (firstFiveZero && p5 === 0 && p6 === 0 && p7 === 0) return "the unspecified address";
  if (firstFiveZero && p5 === 0 && p6 === 0 && p7 === 1) return "a loopback address";
  const embedded = (address: number, how: string) => {
    const kind = v4Refusal(address);
    return kind ? `${how} ${dotted(address)}, ${kind}` : null;
  };
  // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (the old compatible form) reach the IPv4 address itself.
  if (firstFiveZero && (p5 === 0xffff || p5 === 0)) return embedded(v4From(p6, p7), "an IPv6 form of");
  // ::ffff:0:a.b.c.d (IPv4-translated, RFC 2765) does too, through a translator.
  if (p0 === 0 && p1 === 0 && p2 === 0 && p3 === 0 && p4 === 0xffff && p5 === 0) {
    return embedded(v4From(p6, p7), "an IPv6 form of");
  }
  // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) gateways forward to the IPv4 address they carry.
  if (p0 === 0x64 && p1 === 0xff9b && p2 === 0 && p3 === 0 && p4 === 0 && p5 === 0) {
    return embedded(v4From(p6, p7), "a NAT64 address for");
  }
  // Local-use NAT64 (64:ff9b:1::/48, RFC 8215) is a network's own translator: never a public receiver.
  if (p0 === 0x64 && p1 === 0xff9b && p2 === 1) return "a local-use NAT64 address";
  if (p0 === 0x2002) return embedded(v4From(p1, p2), "a 6to4 address for");
  if ((p0 & 0xfe00) === 0xfc00) return "a private (unique local) address";
  if ((p0 & 0xffc0) === 0xfe80) return "a link-local address";
  if ((p0 & 0xffc0) === 0xfec0) return "a private (site-local) address";
  if ((p0 & 0xff00) === 0xff00) return "a multicast address";
  if (p0 === 0x2001 && p1 === 0x0db8) return "a documentation address";
  return null;
}

/** Names that only ever mean something inside a machine or a private network. */
function nameRefusal(name: string): string | null {
  if (name === "localhost" || name.endsWith(".localhost")) return "names this machine";
  if (name.endsWith(".local")) return "is a local network (mDNS) name";
  if (name.endsWith(".internal")) return "is an internal name";
  if (name.endsWith(".home.arpa")) return "is a home network name";
  if (!name.includes(".")) return "is a single-label name, which only resolves inside a private network";
  return null;
}

function hostRefusal(hostname: string): string | null {
  if (hostname.startsWith("[")) {
    const pieces = parseV6(hostname);
    if (!pieces) return `${hostname} is not an IPv6 address we can check; ${PUBLIC_ONLY}`;
    const kind = v6Refusal(pieces);
    return kind ? `${hostname} is ${kind}; ${PUBLIC_ONLY}` : null;
  }
  const address = parseV4(hostname);
  if (address !== null) {
    const kind = v4Refusal(address);
    return kind ? `${hostname} is ${kind}; ${PUBLIC_ONLY}` : null;
  }
  // `localhost.` is `localhost`: a trailing dot only marks the name as fully qualified.
  const name = hostname.endsWith(".") ? hostname.slice(0, -1) : hostname;
  const why = nameRefusal(name);
  return why ? `${hostname} ${why}; ${PUBLIC_ONLY}` : null;
}

/** Whether `url` may receive webhooks: https to a public host, or, in local development, http to loopback. */
export function checkWebhookUrl(url: string, options: WebhookUrlOptions): WebhookUrlCheck {
  if (url.length > MAX_WEBHOOK_URL_LENGTH) {
    return { ok: false, reason: `The URL is longer than ${MAX_WEBHOOK_URL_LENGTH} characters.` };
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { ok: false, reason: "The URL is not a valid absolute URL." };
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    return { ok: false, reason: "The URL must use https." };
  }
  if (parsed.username !== "" || parsed.password !== "") {
    return {
      ok: false,
      reason: "The URL must not contain a user name or password; use the webhook's secret.",
    };
  }
  const local = options.allowLocal && LOCAL_HOSTS.has(parsed.hostname);
  if (!local) {
    const refusal = hostRefusal(parsed.hostname);
    if (refusal) return { ok: false, reason: refusal };
  }
  if (parsed.protocol === "http:" && !local) {
    return {
      ok: false,
      reason: options.allowLocal
        ? "The URL must use https; plain http is only allowed to 127.0.0.1, localhost or [::1] in local development."
        : "The URL must use https.",
    };
  }
  return { ok: true, url: parsed };
}

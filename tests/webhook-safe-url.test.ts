import { describe, expect, it } from "vitest";
import { SafeFetchTimeoutError, safeFetch, UnsafeUrlError } from "../src/lib/webhooks/safe-fetch";
import { checkWebhookUrl } from "../src/lib/webhooks/safe-url";
import { routeOutbound } from "./fakes/outbound";

const PRODUCTION = { allowLocal: false };
const LOCAL = { allowLocal: true };

function reasonFor(url: string, options = PRODUCTION): string {
  const check = checkWebhookUrl(url, options);
  if (check.ok) throw new Error(`expected ${url} to be refused, it was accepted as ${check.url.href}`);
  return check.reason;
}

function accepted(url: string, options = PRODUCTION): string {
  const check = checkWebhookUrl(url, options);
  if (!check.ok) throw new Error(`expected ${url} to be accepted, it was refused: ${check.reason}`);
  return check.url.href;
}

describe("checkWebhookUrl", () => {
  it("accepts https to public names and addresses, on any port", () => {
    expect(accepted("https://hooks.example.com/x")).toBe("https://hooks.example.com/x");
    expect(accepted("https://[2606:4700::1111]/x")).toBe("https://[2606:4700::1111]/x");
    expect(accepted("https://1.1.1.1/hook")).toBe("https://1.1.1.1/hook");
    expect(accepted("https://hooks.example.com:8443/x?a=1")).toBe("https://hooks.example.com:8443/x?a=1");
    expect(accepted("https://hooks.example.com:9000/x")).toBe("https://hooks.example.com:9000/x");
    expect(accepted("https://172.32.0.1/x")).toBe("https://172.32.0.1/x");
  });

  it("refuses what is not an https URL", () => {
    expect(reasonFor("not a url")).toBe("The URL is not a valid absolute URL.");
    expect(reasonFor("/relative/path")).toBe("The URL is not a valid absolute URL.");
    expect(reasonFor("http://hooks.example.com/x")).toBe("The URL must use https.");
    expect(reasonFor("ftp://hooks.example.com/x")).toBe("The URL must use https.");
    expect(reasonFor("javascript:alert(1)")).toBe("The URL must use https.");
    expect(reasonFor(`https://hooks.example.com/${"a".repeat(2048)}`)).toBe(
      "The URL is longer than 2048 characters.",
    );
    expect(reasonFor("https://user:secret@hooks.example.com/x")).toMatch(
      /must not contain a user name or password/,
    );
    expect(reasonFor("https://user@hooks.example.com/x")).toMatch(/must not contain a user name or password/);
  });

  it.each([
    ["https://127.0.0.1/x", "127.0.0.1 is a loopback address; webhooks only go to public addresses."],
    ["https://127.255.0.9/x", "127.255.0.9 is a loopback address; webhooks only go to public addresses."],
    ["https://10.0.0.1/", "10.0.0.1 is a private address; webhooks only go to public addresses."],
    ["https://172.16.0.1/", "172.16.0.1 is a private address; webhooks only go to public addresses."],
    ["https://172.31.255.255/", "172.31.255.255 is a private address; webhooks only go to public addresses."],
    ["https://192.168.1.10/", "192.168.1.10 is a private address; webhooks only go to public addresses."],
    [
      "https://169.254.169.254/latest/meta-data",
      "169.254.169.254 is the cloud metadata address; webhooks only go to public addresses.",
    ],
    ["https://169.254.1.1/", "169.254.1.1 is a link-local address; webhooks only go to public addresses."],
    [
      "https://100.64.0.1/",
      "100.64.0.1 is a shared (carrier-grade NAT) address; webhooks only go to public addresses.",
    ],
    ["https://0.0.0.0/", "0.0.0.0 is a 'this network' address; webhooks only go to public addresses."],
    ["https://224.0.0.1/", "224.0.0.1 is a multicast address; webhooks only go to public addresses."],
    ["https://240.0.0.1/", "240.0.0.1 is a reserved address; webhooks only go to public addresses."],
    [
      "https://255.255.255.255/",
      "255.255.255.255 is the broadcast address; webhooks only go to public addresses.",
    ],
  ])("refuses the IPv4 literal in %s", (url, reason) => {
    expect(reasonFor(url)).toBe(reason);
  });

  it.each([
    ["https://[::1]/x", "[::1] is a loopback address; webhooks only go to public addresses."],
    ["https://[::]/x", "[::] is the unspecified address; webhooks only go to public addresses."],
    [
      "https://[fc00::1]/",
      "[fc00::1] is a private (unique local) address; webhooks only go to public addresses.",
    ],
    [
      "https://[fd00:ec2::254]/",
      "[fd00:ec2::254] is a private (unique local) address; webhooks only go to public addresses.",
    ],
    ["https://[fe80::1]/", "[fe80::1] is a link-local address; webhooks only go to public addresses."],
    ["https://[ff02::1]/", "[ff02::1] is a multicast address; webhooks only go to public addresses."],
    // The parser writes ::ffff:10.0.0.1 in hex; the reason still names the IPv4 address it reaches.
    [
      "https://[::ffff:10.0.0.1]/",
      "[::ffff:a00:1] is an IPv6 form of 10.0.0.1, a private address; webhooks only go to public addresses.",
    ],
    [
      "https://[::ffff:169.254.169.254]/",
      "[::ffff:a9fe:a9fe] is an IPv6 form of 169.254.169.254, the cloud metadata address; webhooks only go to public addresses.",
    ],
    [
      "https://[64:ff9b::7f00:1]/",
      "[64:ff9b::7f00:1] is a NAT64 address for 127.0.0.1, a loopback address; webhooks only go to public addresses.",
    ],
    [
      "https://[2002:a00:1::]/",
      "[2002:a00:1::] is a 6to4 address for 10.0.0.1, a private address; webhooks only go to public addresses.",
    ],
    [
      "https://[::ffff:0:a9fe:a9fe]/",
      "[::ffff:0:a9fe:a9fe] is an IPv6 form of 169.254.169.254, the cloud metadata address; webhooks only go to public addresses.",
    ],
    [
      "https://[64:ff9b:1::a00:1]/",
      "[64:ff9b:1::a00:1] is a local-use NAT64 address; webhooks only go to public addresses.",
    ],
  ])("refuses the IPv6 literal in %s", (url, reason) => {
    expect(reasonFor(url)).toBe(reason);
  });

  it("judges IPv6 forms of public IPv4 addresses as public", () => {
    expect(accepted("https://[::ffff:1.1.1.1]/")).toBe("https://[::ffff:101:101]/");
    expect(accepted("https://[2002:101:101::]/")).toBe("https://[2002:101:101::]/");
  });

  it.each([
    ["https://2130706433/", "127.0.0.1"],
    ["https://0x7f000001/", "127.0.0.1"],
    ["https://0177.0.0.1/", "127.0.0.1"],
    ["https://127.1/", "127.0.0.1"],
    ["https://0x7f.1/", "127.0.0.1"],
    ["https://127.0.0.1./", "127.0.0.1"],
    ["https://012.0.0.1/", "10.0.0.1"],
    ["https://167772161/", "10.0.0.1"],
    ["https://0xa9fea9fe/", "169.254.169.254"],
  ])("refuses %s, an odd spelling of %s (the URL parser normalises it)", (url, dotted) => {
    expect(new URL(url).hostname).toBe(dotted);
    expect(reasonFor(url)).toMatch(new RegExp(`^${dotted.replaceAll(".", "\\.")} is `));
  });

  it.each([
    ["https://localhost/x", "localhost names this machine; webhooks only go to public addresses."],
    ["https://localhost./x", "localhost. names this machine; webhooks only go to public addresses."],
    ["https://api.localhost/x", "api.localhost names this machine; webhooks only go to public addresses."],
    [
      "https://printer.local/x",
      "printer.local is a local network (mDNS) name; webhooks only go to public addresses.",
    ],
    [
      "https://metadata.google.internal/computeMetadata/v1/",
      "metadata.google.internal is an internal name; webhooks only go to public addresses.",
    ],
    ["https://db.internal/x", "db.internal is an internal name; webhooks only go to public addresses."],
    [
      "https://intranet/x",
      "intranet is a single-label name, which only resolves inside a private network; webhooks only go to public addresses.",
    ],
    ["https://LOCALHOST:8080/x", "localhost names this machine; webhooks only go to public addresses."],
  ])("refuses the local name in %s", (url, reason) => {
    expect(reasonFor(url)).toBe(reason);
  });

  it("in production refuses the loopback receivers local development allows", () => {
    expect(reasonFor("http://127.0.0.1:3000/hook")).toBe(
      "127.0.0.1 is a loopback address; webhooks only go to public addresses.",
    );
    expect(reasonFor("http://localhost:8080/x")).toBe(
      "localhost names this machine; webhooks only go to public addresses.",
    );
    expect(reasonFor("http://[::1]:3000/x")).toBe(
      "[::1] is a loopback address; webhooks only go to public addresses.",
    );
  });

  it("in local development accepts http to exactly 127.0.0.1, localhost and [::1], and nothing else private", () => {
    expect(accepted("http://127.0.0.1:3000/hook", LOCAL)).toBe("http://127.0.0.1:3000/hook");
    expect(accepted("http://localhost:8080/x", LOCAL)).toBe("http://localhost:8080/x");
    expect(accepted("http://[::1]:3000/x", LOCAL)).toBe("http://[::1]:3000/x");
    expect(accepted("https://hooks.example.com/x", LOCAL)).toBe("https://hooks.example.com/x");

    expect(reasonFor("http://10.0.0.1/x", LOCAL)).toBe(
      "10.0.0.1 is a private address; webhooks only go to public addresses.",
    );
    expect(reasonFor("http://169.254.169.254/latest/meta-data", LOCAL)).toMatch(/cloud metadata address/);
    expect(reasonFor("http://example.com/x", LOCAL)).toBe(
      "The URL must use https; plain http is only allowed to 127.0.0.1, localhost or [::1] in local development.",
    );
    // Only the exact spellings: other loopback addresses and names stay refused.
    expect(reasonFor("http://127.0.0.2:3000/x", LOCAL)).toMatch(/^127\.0\.0\.2 is a loopback address/);
    // The same address spelled oddly is the same address.
    expect(accepted("http://2130706433:3000/x", LOCAL)).toBe("http://127.0.0.1:3000/x");
    expect(reasonFor("http://api.localhost:3000/x", LOCAL)).toMatch(/names this machine/);
    expect(reasonFor("https://user:pw@localhost:3000/x", LOCAL)).toMatch(/user name or password/);
  });
});

type Seen = { url: string; method: string; body: string; authorization: string | null };

/** A fake receiver: answers each request with the next of `answers`, and records what it was sent. */
function receiver(answers: Array<(request: Request) => Response>) {
  const seen: Seen[] = [];
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const request = new Request(input, init);
    expect(request.redirect).toBe("manual");
    seen.push({
      url: request.url,
      method: request.method,
      body: await request.text(),
      authorization: request.headers.get("Authorization"),
    });
    const answer = answers[seen.length - 1];
    if (!answer) throw new Error(`no answer for request ${seen.length} to ${request.url}`);
    return answer(request);
  };
  return { fetch, seen };
}

const redirect = (status: number, location: string) => () =>
  new Response(null, { status, headers: { Location: location } });
const ok = () => new Response("received", { status: 200 });
const POST = {
  method: "POST",
  body: '{"event":"task.completed"}',
  headers: { "Content-Type": "application/json" },
};

async function refusal(promise: Promise<Response>): Promise<UnsafeUrlError> {
  const error = await promise.then(
    () => null,
    (thrown: unknown) => thrown,
  );
  if (!(error instanceof UnsafeUrlError)) throw new Error(`expected an UnsafeUrlError, got ${String(error)}`);
  return error;
}

describe("safeFetch", () => {
  it("refuses an unsafe URL before calling anything", async () => {
    const fake = receiver([ok]);
    const error = await refusal(
      safeFetch("https://10.0.0.1/hook", { ...POST, allowLocal: false, fetch: fake.fetch }),
    );
    expect(error.reason).toBe("10.0.0.1 is a private address; webhooks only go to public addresses.");
    expect(fake.seen).toHaveLength(0);
  });

  it("refuses a 307 redirect to the metadata address", async () => {
    const fake = receiver([redirect(307, "http://169.254.169.254/latest/meta-data")]);
    const error = await refusal(
      safeFetch("https://hooks.example.com/x", { ...POST, allowLocal: false, fetch: fake.fetch }),
    );
    expect(error.reason).toBe(
      "169.254.169.254 is the cloud metadata address; webhooks only go to public addresses.",
    );
    expect(error.url).toBe("http://169.254.169.254/latest/meta-data");
    expect(fake.seen.map((s) => s.url)).toEqual(["https://hooks.example.com/x"]);
  });

  it("refuses a redirect to a private address even in local development", async () => {
    const fake = receiver([redirect(308, "https://10.0.0.1/")]);
    const error = await refusal(
      safeFetch("http://127.0.0.1:3000/hook", { ...POST, allowLocal: true, fetch: fake.fetch }),
    );
    expect(error.reason).toBe("10.0.0.1 is a private address; webhooks only go to public addresses.");
    expect(fake.seen).toHaveLength(1);
  });

  it("refuses a relative redirect that lands on loopback through an odd IPv4 spelling", async () => {
    const fake = receiver([redirect(307, "//2130706433/x")]);
    const error = await refusal(
      safeFetch("https://hooks.example.com/x", { ...POST, allowLocal: false, fetch: fake.fetch }),
    );
    expect(error.reason).toBe("127.0.0.1 is a loopback address; webhooks only go to public addresses.");
  });

  it("follows a 307 to another public https URL with the same method and body", async () => {
    const fake = receiver([redirect(307, "https://other.example.net/in"), redirect(308, "/final?x=1"), ok]);
    const response = await safeFetch("https://hooks.example.com/x", {
      ...POST,
      headers: { ...POST.headers, Authorization: "Bearer for-hooks" },
      allowLocal: false,
      fetch: fake.fetch,
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("received");
    expect(fake.seen.map((s) => [s.method, s.url, s.body])).toEqual([
      ["POST", "https://hooks.example.com/x", POST.body],
      ["POST", "https://other.example.net/in", POST.body],
      ["POST", "https://other.example.net/final?x=1", POST.body],
    ]);
    // Credentials for the first receiver do not travel to another origin.
    expect(fake.seen.map((s) => s.authorization)).toEqual(["Bearer for-hooks", null, null]);
  });

  it("returns 301, 302 and 303 to the caller instead of following them", async () => {
    for (const status of [301, 302, 303]) {
      const fake = receiver([redirect(status, "https://other.example.net/in"), ok]);
      const response = await safeFetch("https://hooks.example.com/x", {
        ...POST,
        allowLocal: false,
        fetch: fake.fetch,
      });
      expect(response.status).toBe(status);
      expect(fake.seen).toHaveLength(1);
    }
  });

  it("stops after maxRedirects and returns the last redirect", async () => {
    const loop = (i: number) => redirect(307, `https://hooks.example.com/hop-${i}`);
    const fake = receiver([loop(1), loop(2), loop(3), loop(4), ok]);
    const response = await safeFetch("https://hooks.example.com/x", {
      ...POST,
      allowLocal: false,
      maxRedirects: 2,
      fetch: fake.fetch,
    });
    expect(response.status).toBe(307);
    expect(response.headers.get("Location")).toBe("https://hooks.example.com/hop-3");
    expect(fake.seen).toHaveLength(3);

    const byDefault = receiver([loop(1), loop(2), loop(3), loop(4), ok]);
    const last = await safeFetch("https://hooks.example.com/x", {
      ...POST,
      allowLocal: false,
      fetch: byDefault.fetch,
    });
    expect(last.status).toBe(307);
    expect(byDefault.seen).toHaveLength(4);
  });

  it("gives up on a hanging receiver within the timeout, even one that ignores its signal", async () => {
    let calls = 0;
    const hanging: typeof globalThis.fetch = () => {
      calls++;
      return new Promise<Response>(() => undefined);
    };
    const started = Date.now();
    const outcome = await safeFetch("https://hooks.example.com/x", {
      ...POST,
      allowLocal: false,
      timeoutMs: 150,
      fetch: hanging,
    }).then(
      () => null,
      (thrown: unknown) => thrown,
    );
    const elapsed = Date.now() - started;
    expect(outcome).toBeInstanceOf(SafeFetchTimeoutError);
    expect(calls).toBe(1);
    expect(elapsed).toBeGreaterThanOrEqual(100);
    expect(elapsed).toBeLessThan(2000);
  });

  it("times the whole chain, not each hop", async () => {
    const slowRedirect = (i: number) => async () => {
      await new Promise((resolve) => setTimeout(resolve, 80));
      return new Response(null, { status: 307, headers: { Location: `https://hooks.example.com/hop-${i}` } });
    };
    const slow: typeof globalThis.fetch = async (input) => {
      const hop = Number(new URL(new Request(input).url).pathname.split("-")[1] ?? "0");
      return slowRedirect(hop + 1)();
    };
    const outcome = await safeFetch("https://hooks.example.com/x", {
      allowLocal: false,
      timeoutMs: 200,
      maxRedirects: 10,
      fetch: slow,
    }).then(
      () => null,
      (thrown: unknown) => thrown,
    );
    expect(outcome).toBeInstanceOf(SafeFetchTimeoutError);
  });

  it("looks up the global fetch at call time, so a routed fake answers", async () => {
    const bodies: string[] = [];
    routeOutbound("hooks.fake.test", async (request) => {
      bodies.push(await request.text());
      return new Response(null, { status: 204 });
    });
    const response = await safeFetch("https://hooks.fake.test/in", { ...POST, allowLocal: false });
    expect(response.status).toBe(204);
    expect(bodies).toEqual([POST.body]);
  });
});

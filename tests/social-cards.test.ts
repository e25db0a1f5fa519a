import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { etagOf } from "../src/features/social/card-cache";
import { cardContent, grouped, shareWords } from "../src/features/social/card-content";
import {
  CARD_HEIGHT,
  CARD_WIDTH,
  cardSvg,
  escapeXml,
  RENDERER_VERSION,
} from "../src/features/social/card-svg";
import {
  CODE_ALPHABET,
  CODE_BITS,
  CODE_LENGTH,
  codeTaken,
  MAX_CODE_ATTEMPTS,
  newShareCode,
  normalisedCode,
  SHARE_CODE_PATTERN,
  withFreshCode,
} from "../src/features/social/codes";
import { checkHandle, isReserved } from "../src/features/social/handles";
import { escapeHtml } from "../src/features/social/html";
import { svgToPng } from "../src/features/social/png";
import { profileCard, profileSummary } from "../src/features/social/profile-card";
import type { PublicProfileDto } from "../src/features/social/schemas";
import { shareLinks } from "../src/features/social/share-links";
import { type Likeness, type Snapshot, SnapshotSchema } from "../src/features/social/snapshot";
import { drawableText, ellipsize, fitText, textWidth, wrapText } from "../src/features/social/text-fit";
import { ifNoneMatchHits } from "../src/lib/entity-tags";
import { decodePng, expectedRawSize } from "./helpers/png";

/** The pure rules of sharing: codes, handles, words, text fitting, the card's drawing and its PNG. */

const fox: Likeness = { name: "Sorrel", species: "fox", level: 6, stage: 2, mood: "happy", seed: "u1:p1" };

const SNAPSHOTS: Snapshot[] = [
  { v: 1, kind: "level", level: 7, total_xp: 1234, creature: fox },
  { v: 1, kind: "streak", current_days: 12, longest_days: 30, creature: null },
  {
    v: 1,
    kind: "achievement",
    badge_id: "streak_silver",
    name: "Steady Flame",
    description: "Keep a 7-day streak",
    tier: "silver",
    unlocked_at: new Date(0).toISOString(),
    creature: fox,
  },
  { v: 1, kind: "creature", creature: { ...fox, species: "dragon", stage: 3, level: 14, name: "Ember" } },
  {
    v: 1,
    kind: "task",
    title: "Write the report",
    status: "completed",
    completed_steps: 5,
    total_steps: 5,
    creature: null,
  },
  {
    v: 1,
    kind: "task",
    title: "Plan the move",
    status: "in_progress",
    completed_steps: 3,
    total_steps: 5,
    creature: fox,
  },
];

const isDrawable = (text: string) => drawableText(text) === text;

describe("share codes", () => {
  it("are 10 unambiguous lower-case characters, at least 40 bits", () => {
    expect(CODE_BITS).toBeGreaterThanOrEqual(40);
    expect(CODE_ALPHABET).not.toMatch(/[01ilo]/);
    for (let i = 0; i < 200; i++) {
      const code = newShareCode();
      expect(code).toHaveLength(CODE_LENGTH);
      expect(code).toMatch(SHARE_CODE_PATTERN);
    }
    expect(new Set(Array.from({ length: 500 }, () => newShareCode())).size).toBe(500);
  });

  it("skip bytes that would bias them, drawing again", () => {
    // 248 and above are not a multiple of 31: they are dropped, and only the bytes below count.
    let call = 0;
    const random = (bytes: Uint8Array) => {
      call += 1;
      bytes.fill(call === 1 ? 255 : 32);
      return bytes;
    };
    expect(newShareCode(random)).toBe(CODE_ALPHABET[1]?.repeat(CODE_LENGTH));
    expect(call).toBe(2);
  });

  it("are read in any case, and anything else is no code", () => {
    expect(normalisedCode(" K7M2XQ9TPA ")).toBe("k7m2xq9tpa");
    for (const raw of ["k7m2xq9tp", "k7m2xq9tpa1", "k7m2xq9tp0", "../etc/pas"])
      expect(normalisedCode(raw)).toBeNull();
  });

  it("are drawn again when taken, at most a few times, and other errors pass through", async () => {
    const taken = new Error("D1_ERROR: UNIQUE constraint failed: social_shares.code: SQLITE_CONSTRAINT");
    expect(codeTaken(taken)).toBe(true);
    expect(codeTaken(new Error("UNIQUE constraint failed: idempotency_keys.key"))).toBe(false);
    const tried: string[] = [];
    const codes = ["aaaaaaaaaa", "bbbbbbbbbb", "cccccccccc"];
    const result = await withFreshCode(
      async (code) => {
        tried.push(code);
        if (tried.length < 3) throw taken;
        return code;
      },
      codeTaken,
      () => codes[tried.length] ?? "",
    );
    expect(result).toBe("cccccccccc");
    let attempts = 0;
    await expect(
      withFreshCode(async () => {
        attempts += 1;
        throw taken;
      }),
    ).rejects.toBe(taken);
    expect(attempts).toBe(MAX_CODE_ATTEMPTS);
    const other = new Error("D1 is down");
    attempts = 0;
    await expect(
      withFreshCode(async () => {
        attempts += 1;
        throw other;
      }),
    ).rejects.toBe(other);
    expect(attempts).toBe(1);
  });
});

describe("handles", () => {
  it("are 3–30 letters, digits or underscores, keyed in lower case, reserved words refused", () => {
    expect(checkHandle("Steady_Sam")).toEqual({ ok: true, key: "steady_sam" });
    expect(checkHandle("ab")).toMatchObject({ ok: false, reserved: false });
    expect(checkHandle("a".repeat(31))).toMatchObject({ ok: false, reserved: false });
    expect(checkHandle("no-dash")).toMatchObject({ ok: false, reserved: false });
    for (const word of ["Admin", "SUPPORT", "help", "settings", "about", "login", "api", "webhooks"]) {
      expect(checkHandle(word), word).toMatchObject({ ok: false, reserved: true });
    }
  });
});

describe("reserved handles", () => {
  it("are the words, the words with digits or underscores around them, and anything starting with the brand", () => {
    for (const key of [
      "admin",
      "admin_",
      "_admin",
      "admin_01",
      "support1",
      "help_2024",
      "me123",
      "proxy_official",
      "proxyagent_team",
      "official",
      "officialsam",
      "official_support",
      "no_reply_",
    ]) {
      expect(isReserved(key), key).toBe(true);
      expect(checkHandle(key.length < 3 ? `${key}__` : key), key).toMatchObject({
        ok: false,
        reserved: true,
      });
    }
    for (const key of [
      "steady_sam",
      "admiral",
      "helper_bot",
      "supportive",
      "kate",
      "sam_admin",
      "a_proxy",
      "mega_fan",
    ]) {
      expect(isReserved(key), key).toBe(false);
      expect(checkHandle(key), key).toEqual({ ok: true, key });
    }
  });
});

describe("text on the cards", () => {
  it("keeps only what the fonts draw: emoji stand-ins or nothing, plain letters for styled ones", () => {
    expect(drawableText("Done 🎉🔥 today")).toBe("Done today");
    expect(drawableText("I ❤️ it ⭐")).toBe("I ♥ it ★");
    expect(drawableText("✅ shipped")).toBe("✓ shipped");
    expect(drawableText("𝐁𝐨𝐥𝐝 Ｆｕｌｌ")).toBe("Bold Full");
    expect(drawableText("Tiếng Việt")).toBe("Tieng Viet");
    expect(drawableText("Zoë’s café — déjà vu…")).toBe("Zoë’s café — déjà vu…");
    expect(drawableText("日本語")).toBe("");
    expect(drawableText("line\nbreak\ttab")).toBe("line break tab");
    expect(drawableText("👨‍👩‍👧 family")).toBe("family");
  });

  it("never leaves a character without a glyph, whatever the input", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 40 }), (text) => {
        const drawn = drawableText(text);
        expect(isDrawable(drawn)).toBe(true);
        expect(drawn).toBe(drawn.trim());
        expect(drawn).not.toMatch(/ {2}/);
      }),
    );
  });

  it("wraps into lines that fit, and shortens what does not fit with an ellipsis", () => {
    const style = { size: 60, weight: "bold" } as const;
    fc.assert(
      fc.property(
        fc.array(fc.stringMatching(/^[A-Za-z]{1,30}$/), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 200, max: 1000 }),
        fc.integer({ min: 1, max: 3 }),
        (words, maxWidth, maxLines) => {
          const text = words.join(" ");
          const wrapped = wrapText(text, maxWidth, style, maxLines);
          expect(wrapped.lines.length).toBeLessThanOrEqual(maxLines);
          for (const line of wrapped.lines) expect(textWidth(line, 60, "bold")).toBeLessThanOrEqual(maxWidth);
          if (wrapped.truncated) expect(wrapped.lines.at(-1)?.endsWith("…")).toBe(true);
          else expect(wrapped.lines.join("").replaceAll(" ", "")).toBe(text.replaceAll(" ", ""));
        },
      ),
    );
  });

  it("picks the largest size at which a title fits whole", () => {
    const short = fitText("Reached level 7", 1000, [60, 52, 44], "bold", 2);
    expect(short).toMatchObject({ size: 60, lines: ["Reached level 7"], truncated: false });
    const long = fitText("word ".repeat(60).trim(), 600, [60, 52, 44], "bold", 2);
    expect(long.size).toBe(44);
    expect(long.truncated).toBe(true);
    expect(ellipsize("A fairly long line of text", 150, { size: 30, weight: "regular" })).toMatch(/…$/);
    expect(ellipsize("Short", 500, { size: 30, weight: "regular" })).toBe("Short");
  });
});

describe("the words of a share", () => {
  it("read the snapshot of each kind", () => {
    expect(SNAPSHOTS.map((s) => shareWords(s).title)).toEqual([
      "Level 7 reached",
      "A 12-day streak",
      "Badge unlocked: Steady Flame",
      "Meet Ember",
      "Done: Write the report",
      "In progress: Plan the move",
    ]);
    expect(shareWords(SNAPSHOTS[0] as Snapshot).description).toBe(
      "1,234 XP earned one small step at a time on Proxy Agent.",
    );
    expect(shareWords(SNAPSHOTS[5] as Snapshot).text).toBe(
      'Making progress on "Plan the move": 3 of 5 steps done.',
    );
    expect(grouped(1234567)).toBe("1,234,567");
  });

  it("are stored shapes the schema reads back", () => {
    for (const s of SNAPSHOTS) expect(SnapshotSchema.parse(JSON.parse(JSON.stringify(s)))).toEqual(s);
    expect(
      SnapshotSchema.safeParse({ v: 2, kind: "level", level: 1, total_xp: 0, creature: null }).success,
    ).toBe(false);
  });

  it("link to every network with the values encoded", () => {
    const links = shareLinks("https://x.test/s/abc", "Done: A & B?", 'I finished "A & B?" #win');
    const x = new URL(links.find((l) => l.network === "x")?.href ?? "");
    expect(x.searchParams.get("text")).toBe('I finished "A & B?" #win');
    expect(x.searchParams.get("url")).toBe("https://x.test/s/abc");
    for (const link of links) expect(link.href).not.toMatch(/[ "#]/);
    expect(links.map((l) => l.network)).toHaveLength(8);
  });
});

describe("the card's drawing", () => {
  it("is a pure function of the snapshot, 1200×630, with the creature where it belongs", () => {
    for (const s of SNAPSHOTS) {
      const svg = cardSvg(cardContent(s));
      expect(cardSvg(cardContent(structuredClone(s)))).toBe(svg);
      expect(svg).toContain(`width="${CARD_WIDTH}" height="${CARD_HEIGHT}"`);
      expect(svg).toContain("Proxy Agent");
      // The portrait's own frame (rounded 240×240 tile) is there exactly when there is a creature.
      expect(svg.includes('rx="32" fill="url(#bg'), s.kind).toBe(s.creature !== null);
    }
    const creature = cardSvg(cardContent(SNAPSHOTS[3] as Snapshot));
    expect(creature).toContain("scale(1.6667)");
    expect(cardSvg(cardContent(SNAPSHOTS[0] as Snapshot))).toContain("Sorrel");
  });

  it("drops what XML cannot hold, so resvg never refuses the card", () => {
    // Compared as JSON: a lone surrogate printed raw in a failure would break the runner's channel.
    const escaped = escapeXml("Rex\u0001 \u0000a\u001Fb\uD800c\uDFFFd\uFFFE\uFFFF <&>");
    expect(JSON.stringify(escaped)).toBe(JSON.stringify("Rex abcd &#60;&#38;&#62;"));
    expect(escapeXml("tab\tline\nret\r 😀 é")).toBe("tab\tline\nret\r 😀 é");
    // The creature's name drawn small in the corner: only what the fonts draw.
    const svg = cardSvg(
      cardContent({ ...(SNAPSHOTS[0] as Snapshot), creature: { ...fox, name: "Rex\u0001🦖" } }),
    );
    expect(svg.includes(">Rex</text>")).toBe(true);
    expect(svg.includes("\u0001")).toBe(false);
    const nameless = cardSvg(
      cardContent({ ...(SNAPSHOTS[0] as Snapshot), creature: { ...fox, name: "🦖\u0002" } }),
    );
    expect(nameless.includes('font-size="22" font-weight="700" fill="#ffffff" text-anchor="middle"')).toBe(
      false,
    );
  });

  it("escapes the person's words and draws only what the fonts have", () => {
    const svg = cardSvg(
      cardContent({
        v: 1,
        kind: "task",
        title: `<script>alert(1)</script> & "more" 🎉`,
        status: "completed",
        completed_steps: 1,
        total_steps: 1,
        creature: { ...fox, name: "<b>Fox</b>" },
      }),
    );
    expect(svg).not.toContain("<script");
    expect(svg).not.toContain("<b>");
    // (The long word is broken across lines to fit, so only its start is looked for.)
    expect(svg).toContain("&#60;script&#62;alert");
    expect(svg).toContain("&#34;more&#34;");
    expect(svg).toContain("&#60;b&#62;Fox&#60;/b&#62;");
    expect(svg).not.toContain("🎉");
  });

  it("shortens a long title to two lines with an ellipsis, and never leaves it empty", () => {
    const long = cardSvg(
      cardContent({
        v: 1,
        kind: "task",
        title:
          "Write the quarterly report for the board and send it to everyone before the meeting on Friday",
        status: "completed",
        completed_steps: 1,
        total_steps: 1,
        creature: fox,
      }),
    );
    const titleLines = [...long.matchAll(/font-size="(\d+)" font-weight="700" fill="#ffffff">([^<]+)</g)]
      .filter((m) => Number(m[1]) >= 44 && Number(m[1]) <= 60)
      .map((m) => m[2]);
    expect(titleLines).toHaveLength(2);
    expect(titleLines[1]).toMatch(/…$/);
    const emojiOnly = cardContent({ ...(SNAPSHOTS[4] as Snapshot & { kind: "task" }), title: "🎉🎉" });
    expect(emojiOnly.title).toBe("A task");
  });

  it("is versioned in its ETag, which follows what is drawn", async () => {
    const a = await etagOf("share-card", SNAPSHOTS[0]);
    expect(a).toMatch(/^"[0-9a-f]{32}"$/);
    expect(await etagOf("share-card", structuredClone(SNAPSHOTS[0]))).toBe(a);
    expect(await etagOf("share-card", SNAPSHOTS[1])).not.toBe(a);
    expect(RENDERER_VERSION).toMatch(/^card-v\d+$/);
    expect(ifNoneMatchHits(a, a)).toBe(true);
    expect(ifNoneMatchHits(`W/${a}, "other"`, a)).toBe(true);
    expect(ifNoneMatchHits("*", a)).toBe(true);
    expect(ifNoneMatchHits('"other"', a)).toBe(false);
    expect(ifNoneMatchHits(undefined, a)).toBe(false);
  });
});

describe("a profile's card and summary", () => {
  const profile: PublicProfileDto = {
    handle: "steady_sam",
    url: "https://x.test/u/steady_sam",
    image_url: "https://x.test/u/steady_sam.png",
    showcase: [
      { kind: "level", level: 9, total_xp: 4000 },
      { kind: "streak", current_days: 4, longest_days: 9 },
      { kind: "creature", name: "Miso", species: "cat", level: 2, stage: 1, mood: "happy" },
      { kind: "totals", tasks_completed: 1, steps_completed: 12, focus_sessions: 3 },
    ],
  };

  it("say only what is showcased", () => {
    expect(profileSummary(profile)).toBe("Level 9 · 4-day streak · Miso the cat · 1 task done");
    const card = profileCard(profile, fox);
    expect(card).toMatchObject({
      title: "@steady_sam",
      figure: { type: "number", before: "Level", text: "9" },
      subtitle: "4-day streak · 1 task done",
      creature: fox,
    });
    const bare = profileCard({ ...profile, showcase: [] }, null);
    expect(bare).toMatchObject({
      figure: null,
      creature: null,
      subtitle: "Taking small steps on Proxy Agent",
    });
    expect(escapeHtml(`<a href="x">'`)).toBe("&#60;a href=&#34;x&#34;&#62;&#39;");
  });
});

/** Any text a person can type: every code point, lone surrogates, controls and markup included. */
const userText = fc.string({
  maxLength: 60,
  unit: fc.oneof(
    { weight: 6, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 1 }) },
    { weight: 2, arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 1 }) },
    {
      weight: 2,
      arbitrary: fc.constantFrom("\u0000", "\u0001", "\u001B", "\uD800", "\uDFFF", "\uFFFE", "\uFFFF"),
    },
    { weight: 1, arbitrary: fc.constantFrom("<", "&", '"', "'", "]]>", " ") },
  ),
});

describe("any text a person typed", () => {
  it("draws a PNG: task titles, badge words, creature names and handles, through the real renderer", async () => {
    const run = await fc.check(
      fc.asyncProperty(userText, userText, userText, async (title, name, handle) => {
        const creature = { ...fox, name };
        const profile: PublicProfileDto = {
          handle,
          url: "https://x.test/u/h",
          image_url: "https://x.test/u/h.png",
          showcase: [
            { kind: "streak", current_days: 3, longest_days: 3 },
            { kind: "creature", name, species: "fox", level: 6, stage: 2, mood: "happy" },
          ],
        };
        const cards = [
          cardContent({ ...(SNAPSHOTS[5] as Snapshot & { kind: "task" }), title, creature }),
          cardContent({
            ...(SNAPSHOTS[2] as Snapshot & { kind: "achievement" }),
            name: title,
            description: handle,
            creature,
          }),
          cardContent({ v: 1, kind: "creature", creature }),
          profileCard(profile, creature),
        ];
        for (const card of cards) {
          const png = await decodePng(await svgToPng(cardSvg(card)));
          expect([png.width, png.height]).toEqual([CARD_WIDTH, CARD_HEIGHT]);
        }
      }),
      { numRuns: 12 },
    );
    // Reported as JSON: a lone surrogate printed raw would break the test runner's own channel.
    const failure = run.failed
      ? JSON.stringify({
          counterexample: run.counterexample,
          error: String(run.errorInstance),
          seed: run.seed,
        })
      : null;
    expect(failure).toBeNull();
  });
});

describe("the PNG", () => {
  it("decodes to 1200×630 for every kind, each a different picture (and logs how long a render takes)", async () => {
    const timings: Record<string, number> = {};
    const bytes: Uint8Array[] = [];
    for (const s of SNAPSHOTS) {
      const svg = cardSvg(cardContent(s));
      const runs: number[] = [];
      let png = new Uint8Array();
      for (let i = 0; i < 3; i++) {
        const started = performance.now();
        png = await svgToPng(svg);
        runs.push(performance.now() - started);
      }
      timings[`${s.kind}${s.kind === "task" ? `:${s.status}` : ""}`] = Math.round(
        runs.sort((a, b) => a - b)[1] ?? 0,
      );
      const decoded = await decodePng(png);
      expect([decoded.width, decoded.height, decoded.colourType]).toEqual([1200, 630, 6]);
      expect(decoded.raw.length).toBe(expectedRawSize(decoded));
      bytes.push(png);
    }
    console.log(`card render, median of 3 (ms): ${JSON.stringify(timings)}`);
    // Every kind draws a different picture.
    const hashes = await Promise.all(
      bytes.map(async (b) => new Uint8Array(await crypto.subtle.digest("SHA-256", b)).join(",")),
    );
    const distinct = new Set(hashes);
    expect(distinct.size).toBe(SNAPSHOTS.length);
  });
});

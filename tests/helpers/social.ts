import type { ShareDto, SocialProfileDto } from "../../src/features/social/schemas";
import { call, callJson, type TestUser } from "./api";

export type Share = ShareDto;
export type SocialProfile = SocialProfileDto;

export function share(user: TestUser, body: { kind: string; ref_id?: string }): Promise<Share> {
  return callJson<Share>("/api/v1/social/share", 201, { token: user.token, body });
}

export function putProfile(user: TestUser, body: Record<string, unknown>): Promise<SocialProfile> {
  return callJson<SocialProfile>("/api/v1/social/profile", 200, { token: user.token, method: "PUT", body });
}

/** The path of a public URL the API answered (https://host/s/abc → /s/abc). */
export const pathOf = (url: string) => new URL(url).pathname;

/** A public page or card, fetched as a browser or a link preview would: no credential. */
export async function fetchPublic(url: string, headers: Record<string, string> = {}) {
  return call(pathOf(url), { headers });
}

/** The bytes of a response. */
export async function bytesOf(res: Response): Promise<Uint8Array> {
  return new Uint8Array(await res.arrayBuffer());
}

/** Every `<meta property|name="…" content="…">` of a page, by name. */
export function metaOf(html: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const match of html.matchAll(/<meta (?:property|name)="([^"]+)" content="([^"]*)">/g)) {
    const [, name = "", content = ""] = match;
    out[name] = content;
  }
  return out;
}

/** HTML attribute text back to plain text (the page escapes as &#NN;). */
export const unescapeHtml = (text: string) =>
  text.replace(/&#(\d+);/g, (_m, code: string) => String.fromCodePoint(Number(code)));

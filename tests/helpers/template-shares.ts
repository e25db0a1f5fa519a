import { env } from "cloudflare:workers";
import { expect } from "vitest";
import type { PopularTemplateDto, TemplateShareDto } from "../../src/features/templates/share-schemas";
import { call, callJson, type TestUser } from "./api";
import type { Template } from "./templates";

export type Share = TemplateShareDto;
export type Popular = PopularTemplateDto;

export const CODE_SHAPE = /^[0-9ABCDEFGHJKMNPQRSTVWXYZ]{5}-[0-9ABCDEFGHJKMNPQRSTVWXYZ]{5}$/;

export const shareOf = (user: TestUser, templateId: string, status = 201, body?: { listed?: boolean }) =>
  callJson<Share>(`/api/v1/templates/${templateId}/share`, status, {
    method: "POST",
    token: user.token,
    body,
  });

export const revokeOf = (user: TestUser, templateId: string) =>
  callJson(`/api/v1/templates/${templateId}/share`, 204, { method: "DELETE", token: user.token });

export const importCode = (user: TestUser, code: string, headers?: Record<string, string>) =>
  callJson<Template>("/api/v1/templates/import", 201, { token: user.token, body: { code }, headers });

export const templateOf = (user: TestUser, templateId: string) =>
  callJson<Template>(`/api/v1/templates/${templateId}`, 200, { token: user.token });

export const countRows = async (sql: string, ...values: unknown[]) =>
  (
    await env.DB.prepare(sql)
      .bind(...values)
      .first<{ n: number }>()
  )?.n;

/** The server's global id of a user's template, which the owner knows by their own id. */
export const globalIdOf = async (userId: string, clientId: string) =>
  (
    await env.DB.prepare("SELECT id FROM task_templates WHERE user_id = ? AND client_id = ?")
      .bind(userId, clientId)
      .first<{ id: string }>()
  )?.id ?? "";

const nextPath = (res: Response) => /^<([^>]+)>; rel="next"$/.exec(res.headers.get("link") ?? "")?.[1];

/** Pages of the popular list, following the Link headers until `enough` says stop (or the list ends). */
export async function popularPages(
  user: TestUser,
  path: string,
  enough: (items: Popular[]) => boolean = () => false,
): Promise<{ items: Popular[]; pages: Popular[][] }> {
  const pages: Popular[][] = [];
  let next: string | undefined = path;
  while (next) {
    const res = await call(next, { token: user.token });
    expect(res.status, next).toBe(200);
    pages.push(await res.json<Popular[]>());
    if (enough(pages.flat())) break;
    next = nextPath(res);
  }
  return { items: pages.flat(), pages };
}

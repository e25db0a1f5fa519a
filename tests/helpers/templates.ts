import type { TemplateDto } from "../../src/features/templates/schemas";
import { callJson, type TestUser } from "./api";

export type Template = TemplateDto;

/** n plain steps: "Step 1" … "Step n". */
export const templateSteps = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ description: `Step ${i + 1}` }));

/** A client-chosen template id no other test uses (template ids, like agent ids, are per account). */
export const uniqueTemplateId = (prefix = "tpl") => `${prefix}_${crypto.randomUUID().slice(0, 12)}`;

/** Creates a template through the API (private, Work, two steps unless the body says otherwise). */
export function createTemplate(user: TestUser, body: Record<string, unknown> = {}): Promise<Template> {
  return callJson<Template>("/api/v1/templates", 201, {
    token: user.token,
    body: { name: "My routine", category: "Work", steps: templateSteps(2), ...body },
  });
}

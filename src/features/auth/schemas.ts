import { z } from "@hono/zod-openapi";
import { SCOPES } from "../../lib/auth/principal";
import { isValidTimeZone } from "../../lib/time";

export const EmailSchema = z
  .string()
  .trim()
  .max(254)
  .pipe(z.email({ message: "Must be a valid email address" }))
  .transform((e) => e.toLowerCase())
  .openapi({ example: "sam@example.com" });

export const TimeZoneSchema = z
  .string()
  .max(64)
  .refine(isValidTimeZone, { message: "Must be an IANA time zone such as Europe/Berlin" })
  .openapi({ example: "America/New_York" });

// The upper bound keeps hashing cost bounded; 8 is NIST's minimum for user-chosen passwords.
const PasswordSchema = z
  .string()
  .min(8, "Must be at least 8 characters")
  .max(256)
  .openapi({ example: "correct horse battery" });

/**
 * The name the original mobile app signs in with: letters, digits, `_`, `.` and `-`, 3–50 of them.
 * Never an `@` (a sign-in name with one is always an email) nor digits alone (those read as ids).
 */
export const USERNAME_PATTERN = /^[\p{L}\p{N}_.-]{3,50}$/u;

export const UsernameSchema = z
  .string()
  .trim()
  .regex(USERNAME_PATTERN, "Use 3–50 letters, digits, _, . or - (no @ and no spaces)")
  .refine((u) => !/^\p{N}+$/u.test(u), { message: "Must not be digits only" })
  .openapi({
    // The JSON Schema pattern is the regex's source: zod would write it with its `/u` flag suffix.
    pattern: USERNAME_PATTERN.source,
    example: "Sam_Rivers",
    description: "Unique whatever its letter case; the original mobile app signs in with it",
  });

const FullNameSchema = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .openapi({ description: "The original API's name for `display_name` (same value)" });

/** `full_name` (the original API's) and `display_name` (ours) are one field: both given, they must agree. */
function fullNameAgrees(
  body: { full_name?: string | null | undefined; display_name?: string | null | undefined },
  ctx: z.RefinementCtx,
) {
  if (
    body.full_name !== undefined &&
    body.display_name !== undefined &&
    body.full_name !== body.display_name
  ) {
    ctx.addIssue({
      code: "custom",
      path: ["full_name"],
      message: "full_name is another name for display_name: send one, or the same value in both",
    });
  }
}
export const RegisterBodySchema = z
  .object({
    email: EmailSchema,
    password: PasswordSchema,
    display_name: z.string().trim().min(1).max(100).optional(),
    username: UsernameSchema.optional(),
    full_name: FullNameSchema.optional(),
    timezone: TimeZoneSchema.optional(),
  })
  .superRefine(fullNameAgrees)
  .openapi("RegisterRequest");

export const LoginBodySchema = z
  .object({
    email: EmailSchema.optional().openapi({ description: "Your email (or send `username`)" }),
    username: z.string().trim().min(1).max(254).optional().openapi({
      description: "Your username (or send `email`); one with an `@` is read as your email",
    }),
    password: z.string().min(1).max(256),
  })
  .superRefine((body, ctx) => {
    if ((body.email === undefined) === (body.username === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: [body.email === undefined ? "email" : "username"],
        message: "Send your email or your username (one of them)",
      });
    }
  })
  .openapi("LoginRequest");

export const RefreshBodySchema = z
  .object({ refresh_token: z.string().min(1).max(512) })
  .openapi("RefreshRequest");

export const LogoutBodySchema = z
  .object({
    refresh_token: z
      .string()
      .min(1)
      .max(512)
      .optional()
      .openapi({ description: "Revoke this token's session" }),
    all: z.boolean().optional().openapi({ description: "Revoke every session of the account" }),
  })
  .openapi("LogoutRequest");

export const UserSchema = z
  .object({
    id: z.string(),
    email: z.string(),
    display_name: z.string().nullable(),
    timezone: z.string(),
    created_at: z.string(),
    user_id: z.string().openapi({ description: "= id (for clients of the original API)" }),
    username: z.string().nullable().openapi({ description: "The sign-in name, if the account has one" }),
    full_name: z
      .string()
      .nullable()
      .openapi({ description: "= display_name (for clients of the original API)" }),
    is_active: z.boolean().openapi({ description: "Always true: an account being deleted answers no more" }),
  })
  .openapi("User");

export const UpdateMeBodySchema = z
  .object({
    display_name: z.string().trim().min(1).max(100).nullable().optional(),
    full_name: FullNameSchema.nullable().optional(),
    username: UsernameSchema.nullable().optional().openapi({ description: "null removes it" }),
    timezone: TimeZoneSchema.optional(),
  })
  .superRefine(fullNameAgrees)
  .openapi("UpdateUserRequest");

export const AuthResponseSchema = z
  .object({
    user: UserSchema,
    access_token: z.string(),
    refresh_token: z.string(),
    token_type: z
      .literal("bearer")
      .openapi({ description: "RFC 6749 token types are case-insensitive; the original API wrote it so" }),
    expires_in: z.number().int().openapi({ description: "Seconds until the access token expires" }),
  })
  .openapi("AuthTokens");

export const ScopeSchema = z.enum(SCOPES);

export const CreateApiTokenBodySchema = z
  .object({
    name: z.string().trim().min(1).max(100),
    scopes: z.array(ScopeSchema).min(1).max(SCOPES.length),
    expires_in_days: z.number().int().min(1).max(365).optional(),
  })
  .openapi("CreateApiTokenRequest");

export const ApiTokenSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    scopes: z.array(z.string()),
    token_prefix: z.string().openapi({ description: "The first characters of the token, to recognise it" }),
    created_at: z.string(),
    expires_at: z.string().nullable(),
    last_used_at: z.string().nullable(),
  })
  .openapi("ApiToken");

export const CreatedApiTokenSchema = ApiTokenSchema.extend({
  token: z.string().openapi({ description: "The secret. Shown once; store it now." }),
}).openapi("CreatedApiToken");

export const TokenIdParamsSchema = z.object({ token_id: z.string().min(1).max(64) });

export type UserDto = z.infer<typeof UserSchema>;
export type ApiTokenDto = z.infer<typeof ApiTokenSchema>;
export type CreatedApiTokenDto = z.infer<typeof CreatedApiTokenSchema>;
export type CreateApiTokenInput = z.infer<typeof CreateApiTokenBodySchema>;
export type AuthResponseDto = z.infer<typeof AuthResponseSchema>;

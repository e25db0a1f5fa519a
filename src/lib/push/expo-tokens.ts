/**
 * What an Expo push token looks like: `ExponentPushToken[…]` (what `getExpoPushTokenAsync` has long
 * returned) or the newer `ExpoPushToken[…]`. The part in brackets is opaque; Expo issues URL-safe
 * characters, so anything else (spaces, brackets, quotes) is a token mangled on its way to us.
 */
export const EXPO_PUSH_TOKEN_PATTERN = /^(?:Exponent|Expo)PushToken\[[A-Za-z0-9_-]+\]$/;

/** Real tokens are a few dozen characters; a longer string is not a token, whatever its shape. */
export const EXPO_PUSH_TOKEN_MAX_LENGTH = 200;

/**
 * True when `token` can be an Expo push token. Checked before a token is stored and before a message is
 * sent: Expo answers a malformed token with `DeviceNotRegistered`, so sending it would only cost a
 * request to learn what this check already knows.
 */
export function isExpoPushToken(token: string): boolean {
  return token.length <= EXPO_PUSH_TOKEN_MAX_LENGTH && EXPO_PUSH_TOKEN_PATTERN.test(token);
}

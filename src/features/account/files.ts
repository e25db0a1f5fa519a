/** R2 lists and deletes at most 1,000 keys per call. */
const PAGE = 1000;

/**
 * Where a user's files live in the FILES bucket: every object of theirs is under one of these (the
 * convention exports and imports follow), so erasing the prefixes erases the files.
 */
export const userFilePrefixes = (userId: string) => [`exports/${userId}/`, `imports/${userId}/`];

/**
 * Deletes every object under the user's prefixes, a page of keys at a time (memory stays flat however
 * many there are). Safe to repeat; an empty prefix costs one list. Returns how many were deleted.
 */
export async function eraseUserFiles(bucket: R2Bucket, userId: string): Promise<number> {
  let deleted = 0;
  for (const prefix of userFilePrefixes(userId)) {
    let cursor: string | undefined;
    do {
      const page = await bucket.list({ prefix, limit: PAGE, ...(cursor ? { cursor } : {}) });
      const keys = page.objects.map((object) => object.key);
      if (keys.length > 0) await bucket.delete(keys);
      deleted += keys.length;
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
  }
  return deleted;
}

/**
 * Codes people read out, type on a phone or paste: random characters from a 32-letter alphabet,
 * stored canonical (upper case, no separator) and shown in two groups. Input is forgiving: any letter
 * case, spaces and hyphens anywhere, and the alphabet's own look-alike readings (Crockford reads I and
 * L as 1, O as 0).
 */
export interface HumanCodeSpec {
  /** 32 distinct characters: then the low five bits of a random byte pick one without bias. */
  alphabet: string;
  length: number;
  /** Where the hyphen goes when shown. */
  group: number;
  /** Characters typed for others, replaced before checking. */
  aliases?: Readonly<Record<string, string>>;
}

export function humanCode(spec: HumanCodeSpec) {
  const canonical = new RegExp(`^[${spec.alphabet}]{${spec.length}}$`);
  const aliases = Object.entries(spec.aliases ?? {});
  return {
    /** A new random code, canonical. */
    next(): string {
      const bytes = crypto.getRandomValues(new Uint8Array(spec.length));
      return Array.from(bytes, (b) => spec.alphabet[b & 31]).join("");
    },
    /** The canonical code a person typed, or null when it cannot be one. */
    normalize(input: string): string | null {
      let code = input.toUpperCase().replace(/[\s-]/g, "");
      for (const [typed, meant] of aliases) code = code.replaceAll(typed, meant);
      return canonical.test(code) ? code : null;
    },
    /** The code as people see it: two groups. */
    format(code: string): string {
      return `${code.slice(0, spec.group)}-${code.slice(spec.group)}`;
    },
  };
}

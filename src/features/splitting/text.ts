/**
 * Reading a task title the way a person would: what to do (the verb), to what (the object), with whom
 * (a person) and about what (a topic) — so steps can name the real thing instead of "the task".
 */

export interface TaskWords {
  /** Lower-case verb the title starts with ("clean"), if it starts with one. */
  verb: string | null;
  /** What the verb acts on, in the second person: "my taxes" → "your taxes". Never empty. */
  object: string;
  /** The object without where or why: "the package to the post office" → "the package". */
  thing: string;
  /** Someone to talk to ("Dana", "your landlord"), if named. */
  person: string | null;
  /** What it is about ("the contract"), if said. */
  topic: string | null;
  /** The whole title, second person, without a leading "I need to". */
  phrase: string;
}

// Lead-ins people type before the actual task.
const LEAD_IN =
  /^(?:(?:i|we)\s+)?(?:really\s+)?(?:need\s+to|have\s+to|has\s+to|gotta|got\s+to|must|should|want\s+to|remember\s+to|try\s+to|todo:?|to\s+do:?|finally|please)\s+/i;

const PRONOUNS: ReadonlyMap<string, string> = new Map([
  ["my", "your"],
  ["mine", "yours"],
  ["me", "you"],
  ["i", "you"],
  ["i'm", "you're"],
  ["our", "your"],
  ["ours", "yours"],
  ["myself", "yourself"],
  ["us", "you"],
]);

/** Verbs a title commonly starts with; anything else is read as a noun phrase ("taxes", "garage"). */
const VERBS = new Set(
  (
    "add answer apply arrange ask assemble attend back bake book brainstorm buy call cancel change check choose " +
    "clean clear code collect compare complete contact cook create debug declutter decorate deploy design do draft " +
    "draw dust email empty file fill finish fix follow get go hang implement install iron learn make meal message " +
    "mop mow move order organise organize pack paint pay phone pick plan plant practice practise prep prepare print " +
    "read rearrange refactor register renew repair replace reply research respond return review revise run schedule " +
    "walk water mow feed empty unload hoover vacuum mop sweep dust back cancel unsubscribe terminate reserve " +
    "reorder wash change take drop dm ping whatsapp chop grab save screenshot print post fold load put open " +
    "close find hand bring note mark tick log type paste copy attach upload download rinse dry scrub stir boil " +
    "fry sign scan stamp label list highlight circle underline skim quiz explain try play warm cool stretch " +
    "throw carry sort group wipe set " +
    "send set shop sign sort start study submit sweep take talk text tidy update vacuum wash water work workout " +
    "write"
  ).split(" "),
);

const PERSON_AFTER =
  /\b(?:reply\s+to|respond\s+to|write\s+to|get\s+back\s+to|follow\s+up\s+with|talk\s+to|talk\s+with|meet\s+with|call|email|e-mail|text|message|phone|ping|ask|tell|remind|thank)\s+((?:your\s+|the\s+)?[\p{L}'’.-]+(?:\s+[\p{Lu}][\p{L}'’.-]*)?)/iu;
// Who counts as a person: a name (capitalised), or one of these after "the"/"your".
const PEOPLE =
  /^(?:(?:the|your)\s+)?(?:mom|mum|dad|mother|father|parents|sister|brother|boss|manager|landlord|landlady|dentist|doctor|gp|vet|teacher|professor|tutor|coach|client|customer|team|friend|partner|wife|husband|neighbou?r|bank|plumber|electrician|accountant|lawyer|school|office|insurer|insurance company|recruiter|colleague|grandma|grandpa|aunt|uncle)$/i;
const PLACES =
  /\b(dentist|doctor|gp|vet|landlord|plumber|electrician|accountant|lawyer|insurer|pharmacy|bank|school|hairdresser|barber|mechanic)\b/i;
const PARTICLES = new Set([
  "out",
  "up",
  "for",
  "into",
  "off",
  "through",
  "over",
  "away",
  "down",
  "back",
  "in",
]);
const DETERMINERS =
  /^(?:the|a|an|your|this|that|these|those|some|all|every|each|his|her|their|its|our|one|two|three|\d)/i;
// Where or why a thing is done: cut from `thing`.
const PLACE_OR_PURPOSE = /\s+(?:to|at|from|for|in|on|into|with|before|by)\s+.*$/i;
const TOPIC_AFTER = /\b(?:about|regarding|concerning|re:?)\s+(.+)$/i;
// Words that end a person's name in "call Dana back about …".
const NOT_A_NAME = /^(?:about|back|regarding|re|for|to|on|at|and|the|a|an|it|them|him|her)$/i;

function secondPerson(text: string): string {
  return text
    .split(/(\s+)/)
    .map((word) => {
      const swap = PRONOUNS.get(word.toLowerCase());
      return swap ?? word;
    })
    .join("");
}

function tidy(text: string): string {
  return text
    .replace(/\s+/g, " ")
    .replace(/[.!?;:,\s]+$/u, "")
    .trim();
}

export function readTaskWords(title: string): TaskWords {
  let text = tidy(title);
  for (let i = 0; i < 3 && LEAD_IN.test(text); i++) text = text.replace(LEAD_IN, "");
  text = tidy(secondPerson(text));
  const [first = "", ...rest] = text.split(" ");
  const lower = first.toLowerCase();
  let verb = VERBS.has(lower) ? lower : null;
  // "sort out", "go for", "pick up": the particle belongs to the verb.
  if (verb && rest[0] && PARTICLES.has(rest[0].toLowerCase()) && rest.length > 1)
    verb = `${verb} ${rest.shift()}`;
  let object = verb ? rest.join(" ") : text;
  // "Renew your passport" reads as "… to renew your passport" inside a step.
  if (verb) text = text.charAt(0).toLowerCase() + text.slice(1);

  let person: string | null = null;
  const who = PERSON_AFTER.exec(text);
  if (who?.[1]) {
    const words = who[1].split(" ");
    while (words.length > 1 && NOT_A_NAME.test(words[words.length - 1] ?? "")) words.pop();
    // The pattern is case-blind, so "mom happy" may come along: try the whole, then the first word(s).
    const candidates = [
      words.join(" "),
      words.slice(0, words[0] === "your" || words[0] === "the" ? 2 : 1).join(" "),
    ];
    person =
      candidates.find((name) => !NOT_A_NAME.test(name) && (/^\p{Lu}/u.test(name) || PEOPLE.test(name))) ??
      null;
  }
  // "a vet appointment": the vet is who to reach, even without "call".
  if (!person) {
    const place = PLACES.exec(text);
    if (place?.[1]) person = `the ${place[1].toLowerCase()}`;
  }
  const about = TOPIC_AFTER.exec(text);
  const topic = about?.[1] ? tidy(about[1]) : null;
  // "reply to Dana about the contract": the object is the reply itself, named by person and topic.
  object = tidy(object.replace(/^(?:to|back\s+to|with|up\s+with)\s+/i, ""));
  if (!object) object = text || "it";
  // "math homework" → "your math homework"; names, numbers and "the …" stay as written.
  else if (!DETERMINERS.test(object) && !/^\p{Lu}/u.test(object) && !/^\S+\s+\d/.test(object))
    object = `your ${object}`;
  const thing = tidy(object.replace(PLACE_OR_PURPOSE, "")) || object;
  return { verb, object, thing, person, topic, phrase: text || "it" };
}

/** "write the report" → "Write the report". */
export function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** A 2–4 word label for a step: its opening words, up to the first comma or colon. */
export function shortLabel(description: string): string {
  const head = description.split(/[,:;(—–]/u)[0] ?? description;
  const words = head.trim().split(/\s+/).slice(0, 4).join(" ");
  return words.length > 40 ? `${words.slice(0, 39)}…` : words;
}

/**
 * The separate actions in a step that joins them: "Wash and chop the vegetables" → "Wash the
 * vegetables", "Chop the vegetables"; "Make the call and work through your list" → two. Null when
 * the step is one action (an "and" inside a noun phrase, like "a bin bag and a box", stays).
 */
export function actionsIn(description: string): string[] | null {
  const parts = description
    .trim()
    .replace(/[.!]+$/, "")
    .split(/,?\s+(?:and then|then|and)\s+|,\s+/i);
  if (parts.length < 2 || parts.length > 3) return null;
  const verbs = parts.map((part) => part.split(/\s+/)[0]?.toLowerCase() ?? "");
  if (!verbs.every((v) => VERBS.has(v))) return null;
  // "Wash and chop the vegetables": a bare verb shares the object of the last action.
  const last = parts[parts.length - 1] ?? "";
  const shared = last.split(/\s+/).slice(1).join(" ");
  return parts.map((part) => capitalise(part.includes(" ") || !shared ? part : `${part} ${shared}`));
}

/** The most characters of a user's value a message repeats. */
export const QUOTE_MAX = 64;

/** Control characters and lone surrogates: shown as \uXXXX so a message stays one printable line. */
const UNPRINTABLE =
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  /[\u0000-\u001f\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

const escape = (s: string) =>
  s.replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/**
 * A value the user gave, for an error message: in double quotes (control characters and lone
 * surrogates escaped; backslashes left alone, so regexps read as written) and cut to its first
 * `max` characters, followed by how long it was. A 50,000-character kernel string thus costs a
 * message 64 characters, not 50,000: messages end up in logs, events, status conditions and
 * admission answers, which all have size limits of their own.
 */
export function quoteValue(value: unknown, max = QUOTE_MAX): string {
  const s = typeof value === 'string' ? value : String(value);
  if (s.length <= max) return `"${escape(s)}"`;
  // Never cut between the two halves of a surrogate pair.
  const cut = s.charCodeAt(max - 1) >= 0xd800 && s.charCodeAt(max - 1) <= 0xdbff ? max - 1 : max;
  return `"${escape(s.slice(0, cut))}"… (${s.length} characters)`;
}

/** What a value of the wrong type is, for a message: `a map`, `a list`, `null`, or the value. */
export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  // What is left is a number, boolean, bigint, symbol or function: none prints as [object Object].
  // eslint-disable-next-line @typescript-eslint/no-base-to-string
  return typeof v === 'string' ? quoteValue(v) : quoteValue(String(v)).slice(1, -1);
}

/**
 * A field path for a message. Paths hold map keys the user wrote, so a path longer than
 * twice QUOTE_MAX is quoted and cut like a value.
 */
export function fieldPath(path: string): string {
  return path.length > 2 * QUOTE_MAX ? quoteValue(path, 2 * QUOTE_MAX) : path;
}

/**
 * Another library's error message, for ours: cut to its first `max` characters. Parsers such as
 * re2js repeat the whole rest of the input they stopped on, which may be the user's entire value.
 */
export function boundedMessage(message: string, max = 2 * QUOTE_MAX): string {
  return message.length <= max
    ? message
    : `${message.slice(0, max)}… (${message.length} characters)`;
}

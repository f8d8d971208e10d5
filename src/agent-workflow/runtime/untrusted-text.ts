/**
 * Untrusted text: the rules that keep text chosen by an uploader (object key, metadata) or by a model
 * (summary, fields, tool values) from passing for the workflow's own words, in the approval e-mail
 * people read and in the events machines read. Pure: no AWS client.
 *
 * - cleaned: control characters (C0, DEL, C1), line breaks (including U+2028/U+2029), zero-width,
 *   bidi and other invisible formatting characters are removed (line breaks and tabs become a space),
 *   and whitespace runs collapse to one space: one value is one line, shown as it will read;
 * - cut: at most `max` characters (code points), with a visible marker saying how much was cut;
 * - quoted (in messages): JSON string quoting, and `scheme://` written `scheme[:]//` so a link in it is
 *   not clickable.
 */

// eslint-disable-next-line no-control-regex
const LINE_BREAKS_AND_CONTROLS = /\r\n|[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
/** Zero-width, bidi and other invisible formatting characters (and the invisible Unicode tag block). */
const INVISIBLE = /[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]|\udb40[\udc00-\udc7f]/g;
const LINK_SCHEME = /\b([A-Za-z][A-Za-z0-9+.-]*):\/\//g;

/** What every line of untrusted origin in a message starts with: no such line can start like a real one. */
export const UNTRUSTED_LINE_PREFIX = '| ';

/** `1234` → `1,234`. */
export function formatCount(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** The text on one line: controls, line breaks and invisible characters removed, whitespace collapsed, trimmed. */
export function cleanText(value: string): string {
  return value
    .replace(LINE_BREAKS_AND_CONTROLS, ' ')
    .replace(INVISIBLE, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The marker that ends a cut value. */
export function cutMarker(moreCharacters: number): string {
  return `…[cut: ${formatCount(moreCharacters)} more character${moreCharacters === 1 ? '' : 's'}]`;
}

/** At most `max` characters (code points, never half a surrogate pair) and the number cut off. */
function head(text: string, max: number): { text: string; more: number } {
  const chars = Array.from(text);
  return chars.length <= max ? { text, more: 0 } : { text: chars.slice(0, max).join(''), more: chars.length - max };
}

/** At most `max` characters of the text, then the cut marker when anything was cut. */
export function cutText(text: string, max: number): string {
  const h = head(text, max);
  return h.more === 0 ? h.text : `${h.text}${cutMarker(h.more)}`;
}

/** For event details (read by machines): cleaned and cut, not quoted. */
export function eventText(value: string, max = 1000): string {
  return cutText(cleanText(value), max);
}

/** Links made unclickable: `https://x` → `https[:]//x`. */
export function defangLinks(text: string): string {
  return text.replace(LINK_SCHEME, '$1[:]//');
}

/** For messages: cleaned, cut to `max` characters, quoted (JSON string rules), links defanged; the cut marker follows the closing quote. */
export function quoteUntrusted(value: string, max: number): string {
  const h = head(cleanText(value), max);
  const quoted = defangLinks(JSON.stringify(h.text));
  return h.more === 0 ? quoted : `${quoted}${cutMarker(h.more)}`;
}

/** A JSON value for messages: compact JSON, cleaned, cut, links defanged (its strings are quoted by JSON itself). */
export function untrustedJson(json: string, max: number): string {
  return defangLinks(cutText(cleanText(json), max));
}

const MARKER = /…\[cut: [\d,]+ more characters?\]/g;

/**
 * One-line text split into lines of at most `width` characters (at spaces where possible, never
 * inside a cut marker), for a message whose lines should stay short.
 */
export function wrapText(text: string, width: number): string[] {
  const lines: string[] = [];
  let rest = text;
  while (Array.from(rest).length > width) {
    const chars = Array.from(rest);
    const markers = [...chars.join('').matchAll(MARKER)].map((m) => {
      const start = Array.from(chars.join('').slice(0, m.index)).length;
      return [start, start + Array.from(m[0]).length] as const;
    });
    const inMarker = (i: number) => markers.find(([a, b]) => i > a && i < b);
    let at = -1;
    for (let i = width; i > 0; i--) {
      if (chars[i] === ' ' && !inMarker(i)) {
        at = i;
        break;
      }
    }
    if (at <= 0) {
      const m = inMarker(width);
      at = m ? (m[0] > 0 ? m[0] : m[1]) : width;
    }
    lines.push(chars.slice(0, at).join('').trimEnd());
    rest = chars.slice(at).join('').trimStart();
  }
  if (rest.length > 0 || lines.length === 0) lines.push(rest);
  return lines;
}

/** Lines of untrusted origin, each with the prefix (an empty line becomes the bare prefix, trimmed). */
export function untrustedLines(lines: readonly string[]): string[] {
  return lines.map((l) => `${UNTRUSTED_LINE_PREFIX}${l}`.trimEnd());
}

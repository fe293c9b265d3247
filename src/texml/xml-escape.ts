/**
 * XML escaping for every value interpolated into TeXML (docs/interface.md §3 "Escaping").
 *
 * Besides the five XML specials, line breaks and tabs become character references: in an attribute
 * a raw newline would be normalised to a space by the XML parser, and keeping values on one line
 * keeps a rendered document's line numbers equal to its template's. Characters XML 1.0 forbids
 * (most C0 controls, lone surrogates, U+FFFE/U+FFFF) are dropped, since no escape can carry them
 * and one would make the whole reply unparseable.
 */

const ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
  '\n': '&#10;',
  '\r': '&#13;',
  '\t': '&#9;',
};

const SPECIAL = /[&<>"'\n\r\t]/g;
const NOT_XML_CHAR = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;
// Quick test for the common case: nothing to escape, nothing to drop.
const NEEDS_WORK = /[&<>"'\n\r\t]|[^\x20-\uD7FF\uE000-\uFFFD]/;

/** Escapes any value for use in XML text or a quoted attribute; `null`/`undefined` become ''. */
export function escapeXml(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = String(value);
  if (!NEEDS_WORK.test(text)) return text;
  return text.replace(NOT_XML_CHAR, '').replace(SPECIAL, (c) => ENTITIES[c]!);
}

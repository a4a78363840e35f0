/**
 * What virtdeck accepts of XML's own machinery in a document it did not write (domain XML typed or
 * edited by the admin, saved in a backup run, printed by a remote libvirt; OVF later): the five
 * predefined entities and character references, nothing else. A `<!DOCTYPE>` can declare entities
 * that read a host file (`SYSTEM "file:///etc/shadow"`) or expand a few bytes into gigabytes
 * ("billion laughs"); libvirt never writes one, so any is refused before a parser sees the text.
 */
import { shown } from './shown.js';
import { UserError } from './userError.js';

const NAMED_ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' };

/** Comments and CDATA may mention `<!DOCTYPE` as plain text; only markup counts. */
const INERT = /<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>/g;
const DECLARATION = /<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)\b/i;

/** Refuses a document type declaration or entity declaration; `source` names where the XML came from. */
export function refuseDoctype(xml: string, source: string): void {
  const m = DECLARATION.exec(xml.replace(INERT, ''));
  if (!m) return;
  throw new UserError(
    `${source} has a <!${(m[1] as string).toUpperCase()}> declaration; virtdeck reads no DTDs or entities, so that a document cannot pull in a host file or expand without end.`,
    'Delete the <!DOCTYPE …> part (libvirt never writes one); virsh dumpxml GUEST gives a clean copy.',
  );
}

/**
 * Characters XML 1.0 cannot carry at all, not even as a reference: C0 controls other than tab, LF
 * and CR, U+FFFE/U+FFFF, and halves of a surrogate pair. libxml2 (so libvirt) refuses a document
 * holding one; libvirt's own writer silently drops them, which would point a disk at another file.
 */
const NOT_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** How each markup character is written: libvirt's writer escapes all five everywhere. */
const REFERENCES: Record<string, string> = { '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' };

/**
 * Which characters a writer turns into references: libvirt (virBufferEscapeString) writes all
 * five markup characters as entities; libxml2, which writes <metadata>, escapes fewer in text and
 * adds tab, LF and CR inside (double-quoted) attributes. The apostrophe is escaped in libxml2
 * attributes too, although libxml2 leaves it, so that no value written by virtdeck carries a raw
 * quote character of either kind.
 */
export const XML_ESCAPES = {
  libvirt: /[<>&'"]/g,
  libxmlText: /[<>&\r]/g,
  libxmlAttr: /[<>&'"\n\r\t]/g,
} as const;

/**
 * The one XML escaper: every text or attribute value virtdeck writes into XML goes through here,
 * whatever produced it (the domain serializer, backup and checkpoint XML). `]]>` needs nothing
 * more, since its `>` is escaped. Characters XML cannot carry are left as they are, so a document
 * read from outside round-trips unchanged (libvirt then refuses it with its own message); values
 * virtdeck puts into new XML are checked with checkXmlText first.
 */
export function escapeXml(text: string, chars: RegExp = XML_ESCAPES.libvirt): string {
  return text.replace(chars, (c) => REFERENCES[c] ?? `&#${c.codePointAt(0)};`);
}

/**
 * Refuses a value holding a character XML cannot carry, before it goes into new XML: refused, not
 * dropped, because the value is a name or a path, and a changed path is another file.
 */
export function checkXmlText(text: string): string {
  const bad = NOT_XML.exec(text);
  if (!bad) return text;
  const code = (bad[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0');
  throw new UserError(`"${shown(text)}" holds the character U+${code}, which XML cannot carry.`, 'Remove control characters from the name, path or text.');
}

/** The characters XML 1.0 allows (its Char production); a reference to anything else is an error in libxml2 too. */
function isXmlChar(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

/** Decodes the five predefined entities and character references; any other reference is refused. */
export function decodeEntities(text: string, source: string): string {
  if (!text.includes('&')) return text;
  return text.replace(/&([^;&\s<]{0,40});?/g, (whole, ref: string) => {
    if (whole.endsWith(';')) {
      const named = NAMED_ENTITIES[ref];
      if (named !== undefined && Object.hasOwn(NAMED_ENTITIES, ref)) return named;
      const num = /^#(?:x([0-9a-f]{1,8})|([0-9]{1,10}))$/i.exec(ref);
      if (num) {
        const cp = num[1] !== undefined ? Number.parseInt(num[1], 16) : Number(num[2]);
        if (isXmlChar(cp)) return String.fromCodePoint(cp);
        throw new UserError(`${source} has the character reference ${shown(whole)}, which is not a character XML allows.`, 'Delete it or write the character itself.');
      }
    }
    throw new UserError(
      `${source} has the entity reference ${shown(whole)}; only &lt; &gt; &amp; &apos; &quot; and character references (&#…;) are read.`,
      'Write the character itself, or &amp; for a literal "&".',
    );
  });
}

/**
 * Runs a fast-xml-parser parse of outside XML: a DOCTYPE is refused first, and the parser's own
 * plain Errors on malformed text become a UserError naming the source.
 */
export function parseOutsideXml<T>(parse: (xml: string) => T, xml: string, source: string): T {
  refuseDoctype(xml, source);
  try {
    return parse(xml);
  } catch (e) {
    throw new UserError(`${source} is not well-formed XML: ${shown(e instanceof Error ? (e.message.split('\n')[0] ?? '') : String(e))}.`, 'Check the XML, or take a fresh copy from virsh.');
  }
}

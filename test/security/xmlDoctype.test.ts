/**
 * A DOCTYPE in domain XML (typed or edited by the admin with `x`, saved in a backup run, printed by
 * a remote libvirt) can declare an entity that reads a host file or expands without end. virtdeck
 * reads no DTD: such XML is refused with a UserError naming its source, before anything is defined,
 * and a "billion laughs" document costs neither memory nor time.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { summarizeDomainXml } from '../../src/model/domainSummary.js';
import { parseDomainXml } from '../../src/model/domainXml.js';
import { decodeEntities } from '../../src/model/xmlText.js';
import { createAppStore } from '../../src/store/appStore.js';
import type { GuestsPaneController } from '../../src/store/guestsPane.js';
import type { ErrorDialog } from '../../src/store/types.js';
import { createFakeHost } from '../helpers/fakeHost.js';
import { catchUserError } from '../helpers/userError.js';

const scratch = mkdtempSync(join(tmpdir(), 'vdsec-pa-xml-'));
const marker = join(scratch, 'marker');
const SECRET = `vdsec-pa-secret-${process.pid}-${Date.now()}`;
writeFileSync(marker, SECRET);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const body = (name: string) => `<domain type='qemu'><name>${name}</name><uuid>6f1c3a4e-2b7d-4c1e-9a3f-0d5e8b7a6c21</uuid><memory unit='MiB'>64</memory></domain>`;

const hostile: Record<string, string> = {
  'external entity (SYSTEM, file URL)': `<?xml version="1.0"?>\n<!DOCTYPE domain [<!ENTITY x SYSTEM "file://${marker}">]>\n${body('&x;')}`,
  'external entity (PUBLIC)': `<!DOCTYPE domain [<!ENTITY x PUBLIC "-//x//EN" "${marker}">]>${body('&x;')}`,
  'external DTD': `<!DOCTYPE domain SYSTEM "${marker}">${body('x')}`,
  'internal entity': `<!DOCTYPE domain [<!ENTITY x "expanded">]>${body('&x;')}`,
  'parameter entity': `<!DOCTYPE domain [<!ENTITY % p SYSTEM "${marker}"> %p;]>${body('x')}`,
  'lower-case doctype': `<!doctype domain [<!ENTITY x SYSTEM "file://${marker}">]>${body('&x;')}`,
  'DOCTYPE after a comment': `<!-- harmless -->\n<!DOCTYPE domain [<!ENTITY x SYSTEM "file://${marker}">]>${body('&x;')}`,
  'entity reference without a DOCTYPE': body('&x;'),
  'HTML entity': body('a&nbsp;b'),
};

const laughs = ['<?xml version="1.0"?>', '<!DOCTYPE domain [', '<!ENTITY lol "lol">'];
for (let i = 1; i <= 9; i++) laughs.push(`<!ENTITY lol${i} "${`&lol${i === 1 ? '' : i - 1};`.repeat(10)}">`);
laughs.push(']>', body('&lol9;'));
const BILLION_LAUGHS = laughs.join('\n');


describe('DOCTYPE and entities in domain XML', () => {
  for (const [what, xml] of Object.entries(hostile)) {
    it(`parseDomainXml refuses ${what} with a UserError naming the source; the marker is never read`, () => {
      const e = catchUserError(() => parseDomainXml(xml, { source: '/backup/web/20261125T203000Z-full/domain.xml' }));
      expect(e.sentence).toContain('/backup/web/20261125T203000Z-full/domain.xml');
      expect(e.sentence).toMatch(/DOCTYPE|ENTITY|entity reference/);
      expect(`${e.sentence} ${e.fix}`).not.toContain(SECRET);
    });

    it(`summarizeDomainXml (virsh output) refuses ${what} with a UserError`, () => {
      const e = catchUserError(() => summarizeDomainXml(xml));
      expect(`${e.sentence} ${e.fix}`).not.toContain(SECRET);
    });
  }

  it('a DOCTYPE mentioned inside a comment or CDATA is only text', () => {
    const xml = `<!-- <!DOCTYPE x> --><domain type='qemu'><name>x</name><description><![CDATA[<!ENTITY y "z">]]></description></domain>`;
    expect(parseDomainXml(xml).nodes.length).toBe(2);
  });

  it('the five predefined entities and character references still decode', () => {
    expect(decodeEntities('&lt;&gt;&amp;&apos;&quot;&#65;&#x42;', 'x')).toBe(`<>&'"AB`);
    expect(summarizeDomainXml(body('a&amp;b&#x43;')).name).toBe('a&bC');
  });

  it('billion laughs: refused at once, without expanding anything', () => {
    const heapBefore = process.memoryUsage().heapUsed;
    const started = performance.now();
    for (const parse of [() => parseDomainXml(BILLION_LAUGHS), () => summarizeDomainXml(BILLION_LAUGHS)]) {
      expect(catchUserError(parse).sentence).toMatch(/DOCTYPE/);
    }
    expect(performance.now() - started).toBeLessThan(500);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(50 * 1024 * 1024);
  });

  it('x in the console: XML edited with a DOCTYPE is refused before virsh define, the editor can be reopened', async () => {
    const fake = createFakeHost([{ name: 'vdsec-pa-x', state: 'shut off', vcpus: 1, memoryMiB: 64 }]);
    // The "editor" changes nothing, so the text it returns is the draft handed to it.
    const store = createAppStore(fake.host, { env: { EDITOR: 'true', PATH: '/usr/bin:/bin' } });
    const draft = hostile['external entity (SYSTEM, file URL)'] as string;
    await (store.getState().panes.guests as GuestsPaneController).editXml('vdsec-pa-x', draft);
    const top = store.getState().dialogs.at(-1);
    // On the code before the fix a diff dialog came up and applying it defined the XML.
    if (top?.kind === 'diff') await top.onApply();
    expect(fake.calls.some((argv) => argv.includes('define'))).toBe(false);
    expect(top?.kind).toBe('error');
    const err = top as ErrorDialog;
    expect(err.error.sentence).toMatch(/^The XML you edited has a <!DOCTYPE>/);
    expect(err.retry?.label).toMatch(/re-open the editor/);
    expect(JSON.stringify(store.getState().dialogs)).not.toContain(SECRET);
  });
});

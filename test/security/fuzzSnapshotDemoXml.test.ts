/**
 * Two more readers of virsh XML: snapshot-dumpxml (the Backups pane's snapshots) and the demo's
 * marker in a guest's metadata (read from every guest named like a demo guest, including a guest
 * someone else defined). Whatever libvirt or a remote host prints: a result or a UserError.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { parseSnapshotXml } from '../../src/host/snapshots.js';
import { readDemoMarker } from '../../src/jobs/demoPlan.js';
import { anyBytesAsText, anyText, hostileWord, onlyTyped, runs } from '../helpers/fuzz.js';

const FIXTURES = join(import.meta.dirname, '../fixtures/domains');
const fixtures = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.xml'))
  .map((f) => readFileSync(join(FIXTURES, f), 'utf8'));

const SNAPSHOT = `<domainsnapshot><name>before-update</name><state>running</state><parent><name>p</name></parent><creationTime>1700000000</creationTime><memory snapshot='internal'/><disks><disk name='vda' snapshot='external'><source file='/x/vda.snap'/></disk></disks>${fixtures[0] ?? '<domain/>'}</domainsnapshot>`;
const DEMO = `<domain><name>demo-web</name><metadata><virtdeck:demo xmlns:virtdeck='https://virtdeck.example/demo/1' dir='/var/lib/virtdeck/demo'/></metadata></domain>`;

const splice = (base: string) =>
  fc.tuple(fc.nat(), fc.oneof(hostileWord, fc.constantFrom('<!DOCTYPE x [<!ENTITY a "b">]>', '&a;', '&#x110000;', '<', '</name>', "'", '<?x', '<![CDATA[', '<!--'))).map(([at, piece]) => {
    const i = at % (base.length + 1);
    return base.slice(0, i) + piece + base.slice(i);
  });

describe('fuzz: snapshot XML and the demo marker', () => {
  it('parseSnapshotXml and readDemoMarker on any text, spliced documents and domain XML: a result or a UserError', () => {
    fc.assert(
      fc.property(fc.oneof(anyText(800), anyBytesAsText(800), splice(SNAPSHOT), splice(DEMO), fc.constantFrom(...fixtures), fc.constantFrom('', '<', '<domainsnapshot/>', '<domainsnapshot><name/></domainsnapshot>')), (xml) => {
        onlyTyped(() => parseSnapshotXml(xml));
        onlyTyped(() => readDemoMarker(xml));
      }),
      runs(800),
    );
  });
});

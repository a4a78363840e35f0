/**
 * The Host pane reads one script's output from the host it manages, over SSH for a remote one:
 * findmnt and ip JSON, od hex, /proc values. Whatever comes back: facts of the promised types,
 * never a throw.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseSystemFacts } from '../../src/host/system.js';
import { anyText, hostileWord, onlyTyped, runs } from '../helpers/fuzz.js';

const anyJson = fc.jsonValue({ maxDepth: 3 });
const wrongish = fc.oneof(anyJson, hostileWord, fc.constant(null), fc.integer(), fc.boolean(), fc.constant([]), fc.constant({}));
const findmnt = fc.oneof(
  fc.record({ filesystems: fc.oneof(fc.array(fc.record({ target: fc.oneof(fc.constant('/var/lib/libvirt/images'), wrongish), source: wrongish, fstype: fc.oneof(fc.constant('ext4'), wrongish), options: fc.oneof(fc.constant('rw,relatime'), wrongish), size: fc.oneof(fc.nat(), wrongish), avail: fc.oneof(fc.nat(), wrongish) }, { requiredKeys: [] }), { maxLength: 2 }), wrongish) }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
  anyJson.map((v) => JSON.stringify(v)),
  anyText(60),
);
const hex = fc.array(fc.constantFrom(...'0123456789abcdefxyz-'.split('')), { maxLength: 70 }).map((a) => a.join(''));
/** od's hex of a qcow2 header is 64 characters; a remote host may print anything there. */
const qcow2Head = fc.array(fc.constantFrom(...'0123456789abcdef0123456789abcdefxz-'.split('')), { minLength: 56, maxLength: 60 }).map((a) => `514649fb${a.join('')}`);
const fileLine = fc.oneof(fc.tuple(fc.nat(), fc.nat(), fc.oneof(hex, qcow2Head), fc.oneof(hostileWord, fc.constant('/img/a.qcow2'))).map((c) => c.join(' ')), anyText(60));
const bridges = fc.oneof(fc.array(fc.record({ ifname: fc.oneof(fc.constant('br0'), wrongish) }, { requiredKeys: [] }), { maxLength: 3 }).map((a) => JSON.stringify(a)), anyJson.map((v) => JSON.stringify(v)), anyText(40));

const DIR = '/var/lib/libvirt/images';
const sections = fc.array(
  fc.oneof(
    fc.tuple(fc.constantFrom('uname', 'cpu', 'swappiness', 'ksm', 'thp', 'mem', 'kconfig'), fc.constant(''), fc.oneof(anyText(80), fc.constantFrom('vmx hypervisor', 'always [madvise] never', 'MemTotal: 100 kB', 'source /boot/config-6 running\nCONFIG_HZ=250'))),
    fc.tuple(fc.constant('shm'), fc.constant(''), findmnt),
    fc.tuple(fc.constant('bridges'), fc.constant(''), bridges),
    fc.tuple(fc.constant('dir'), fc.constant(DIR), findmnt),
    fc.tuple(fc.constant('files'), fc.constant(DIR), fc.array(fileLine, { maxLength: 4 }).map((l) => l.join('\n'))),
    fc.tuple(fc.constant('disks'), fc.constant(DIR), fc.oneof(anyText(60), fc.constantFrom('sda 1 mq-deadline [none]', 'vda 0 [mq-deadline]', '[x] [y]'))),
  ),
  { maxLength: 12 },
);

describe('fuzz: host facts script output', () => {
  it('parseSystemFacts: facts of the promised types', () => {
    fc.assert(
      fc.property(fc.oneof(sections.map((s) => s.map(([n, a, body]) => `@@vd ${n} ${a}@@\n${body}`).join('\n')), anyText(600)), (stdout) => {
        const f = onlyTyped(() => parseSystemFacts(stdout, [DIR]), []);
        if (!f) return;
        for (const b of f.bridges) expect(typeof b).toBe('string');
        for (const d of f.imageDirs) {
          if (d.mount) {
            expect(typeof d.mount.target).toBe('string');
            expect(typeof d.mount.fstype).toBe('string');
            for (const o of d.mount.options) expect(typeof o).toBe('string');
          }
          for (const i of d.images) expect(typeof i.virtualBytes).toBe('number');
        }
      }),
      runs(1000),
    );
  });
});

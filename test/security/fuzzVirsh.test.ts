/**
 * virsh's answers come from libvirtd, and from a remote host's libvirtd over qemu+ssh: guest
 * lists, states, domain XML, versions, networks, node info and bridges of any shape end in rows
 * or the typed errors (UserError for a domain XML that is not one, HostError for a missing
 * answer), never a TypeError.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Executor } from '../../src/host/exec.js';
import type { HostContext } from '../../src/host/hostContext.js';
import { listBridges, listGuests, listNetworks, nodeMemoryKiB, parseState, versions } from '../../src/host/virsh.js';
import { anyText, HostError, hostileWord, onlyTypedAsync, runs, UserError } from '../helpers/fuzz.js';

const MARK = '@@virtdeck@@';
const FIXTURES = join(import.meta.dirname, '../fixtures/domains');
const fixtures = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.xml'))
  .map((f) => readFileSync(join(FIXTURES, f), 'utf8'));

const uuid = fc.uuid();
const stateWord = fc.oneof(fc.constantFrom('running', 'shut off', 'paused', 'in shutdown', 'crashed', 'pmsuspended', '', 'error: failed to get domain'), hostileWord);
const domainXml = fc.oneof(
  fc.constantFrom(...fixtures),
  fc.tuple(fc.constantFrom(...fixtures), fc.nat(), fc.oneof(hostileWord, fc.constantFrom('<!DOCTYPE x>', '&x;', '<', "'", '</domain>'))).map(([f, at, piece]) => {
    const i = at % (f.length + 1);
    return f.slice(0, i) + piece + f.slice(i);
  }),
  fc.tuple(hostileWord, hostileWord, hostileWord).map(([n, src, mac]) => `<domain id='${n}'><name>${n}</name><uuid>${n}</uuid><vcpu current='${n}'>x</vcpu><memory unit='${n}'>${n}</memory><devices><disk device='${n}'><source file='${src}'/></disk><interface type='x'><mac address='${mac}'/></interface><graphics type='vnc' port='${n}'/></devices></domain>`),
  anyText(300),
);

/** An executor that answers each virsh or sys command with text from the property. */
function scripted(answer: (argv: string[]) => string): HostContext {
  const exec: Executor = { label: 'fuzz', interactive: async () => 0, run: async (argv) => ({ argv, exitCode: 0, stdout: answer(argv), stderr: '' }) };
  return { name: 'fuzz', uri: 'qemu+ssh://root@evil/system', virshExec: exec, sysExec: exec };
}

describe('fuzz: virsh output', () => {
  it('listGuests: rows, or a UserError naming a bad domain XML', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(uuid, stateWord, domainXml), { maxLength: 4 }), fc.array(fc.oneof(uuid, hostileWord), { maxLength: 3 }), anyText(100), async (guests, extra, junk) => {
        const host = scripted((argv) => {
          const script = argv.at(-1) ?? '';
          if (script.startsWith('list --all --uuid')) {
            const all = [...guests.map((g) => g[0]), ...extra].join('\n');
            return `${all}\n${MARK}\n${extra.join('\n')}\n${MARK}\n${junk}\n${MARK}\n`;
          }
          return `${guests.map(([, state, xml]) => `${MARK}\n${state}\n\n${xml}\n`).join('')}${MARK}\n`;
        });
        const rows = await onlyTypedAsync(() => listGuests(host), [UserError]);
        for (const r of rows ?? []) {
          expect(typeof r.name).toBe('string');
          expect(typeof r.memoryKiB).toBe('number');
        }
      }),
      runs(250),
    );
  });

  it('parseState, versions, listNetworks, nodeMemoryKiB and listBridges on any output', async () => {
    await fc.assert(
      fc.asyncProperty(anyText(300), fc.array(fc.oneof(uuid, anyText(60)), { maxLength: 4 }), async (text, lines) => {
        parseState(text);
        const host = scripted((argv) => (argv.includes('net-list') ? lines.join('\n') : argv[0] === 'find' ? text : `${text}\n${MARK}\n${lines.join('\n')}`));
        await versions(host);
        for (const n of await listNetworks(host)) expect(typeof n.name).toBe('string');
        await onlyTypedAsync(() => nodeMemoryKiB(host), [HostError]);
        for (const b of await listBridges(host)) expect(typeof b).toBe('string');
      }),
      runs(400),
    );
  });
});

import type { DomainSettings } from './domainXml.js';

/**
 * What an edit asked for that the definition libvirt stored does not show. libvirt accepts some
 * XML and then keeps something else (the sum of NUMA cells over <memory>, a MAC in its own case, a
 * disk it moved), so "define exited 0" does not prove an edit took effect; reading the definition
 * back does. Only settings the edit changed are compared: libvirt is free to fill in the rest.
 */
export function unappliedChanges(before: DomainSettings, wanted: DomainSettings, got: DomainSettings): string[] {
  const missed: string[] = [];
  const check = (what: string, pick: (s: DomainSettings) => unknown, show: (v: unknown) => string = String) => {
    const want = key(pick(wanted));
    if (want === key(pick(before)) || want === key(pick(got))) return;
    missed.push(`${what} ${show(pick(wanted))} (it has ${show(pick(got))})`);
  };
  check('memory', (s) => s.memoryKiB, (v) => `${v} KiB`);
  check('vCPUs', (s) => s.vcpus);
  check('network interfaces', (s) => s.nics.map((n) => `${n.mac?.toLowerCase() ?? 'no MAC'} ${n.type} ${n.source ?? ''}`.trim()), list);
  check('VNC display', (s) => (s.vnc ? `port ${s.vnc.port}${s.vnc.listen ? ` on ${s.vnc.listen}` : ''}` : 'none'));
  check('boot order', (s) => s.bootOrder.join(','), (v) => String(v) || 'none');
  check('disks', (s) => s.disks.map((d) => `${d.target} ${d.bus} ${d.device} ${d.source ?? 'empty'}`).sort(), list);
  return missed;
}

function key(value: unknown): string {
  return JSON.stringify(value);
}

function list(value: unknown): string {
  return (value as string[]).join(', ') || 'none';
}

import { describe, expect, it } from 'vitest';
import { asciiOnly, EXIT, errorPayload, exitCodeFor, fitCell, formatError, formatGuestTable, jsonError } from '../../src/cli/output.js';
import { explain, HostError } from '../../src/host/errors.js';
import type { GuestRow } from '../../src/host/virsh.js';
import { UserError } from '../../src/model/userError.js';

function row(over: Partial<GuestRow>): GuestRow {
  return {
    name: 'web',
    uuid: 'u',
    id: null,
    state: 'shut off',
    vcpus: 1,
    memoryKiB: 524288,
    disks: [{ target: 'vda', device: 'disk', bus: 'virtio', source: '/x', format: 'qcow2' }],
    nics: [{ mac: '52:54:00:12:34:56', type: 'bridge', source: 'br0', model: 'virtio' }],
    vnc: { port: 'auto', listen: null },
    autostart: false,
    persistent: true,
    osType: null,
    hasSerial: false,
    ...over,
  };
}

describe('formatGuestTable', () => {
  it('fits 80 columns, even with a long name, and aligns the columns', () => {
    const text = formatGuestTable(
      [
        row({ name: 'demo-web', state: 'running', vnc: { port: 5901, listen: null }, autostart: true, memoryKiB: 1048576 }),
        row({ name: 'a-very-long-guest-name-that-goes-on-and-on', state: 'in shutdown', vcpus: 16, nics: [], vnc: null }),
      ],
      { ascii: true },
    );
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(80);
    expect(lines[0]).toMatch(/^NAME\s+STATE\s+CPU\s+RAM\s+DISKS\s+MAC\s+VNC\s+AUTO$/);
    expect(lines[1]).toMatch(/^demo-web\s+running\s+1\s+1\.0G\s+1 52:54:00:12:34:56 5901\s+yes$/);
    expect(lines[2]).toContain('a-very-long-guest-n~');
    expect(lines[2]).toMatch(/in shutdown\s+16\s+512M\s+1 -\s+-\s+no$/);
    // Columns line up: STATE starts at the same place in every line.
    expect(new Set(lines.map((l) => l.search(/(STATE|running|in shutdown)/))).size).toBe(1);
  });

  it('says so when there are no guests', () => {
    expect(formatGuestTable([])).toMatch(/No guests/);
  });

  it('fit pads short text and cuts long text', () => {
    expect(fitCell('ab', 4)).toBe('ab  ');
    expect(fitCell('abcdef', 4)).toBe('abc…');
    expect(fitCell('abcdef', 4, true)).toBe('abc~');
  });

  it('uses ASCII on the Linux console and without a UTF-8 locale', () => {
    expect(asciiOnly({ TERM: 'linux', LANG: 'C.UTF-8' })).toBe(true);
    expect(asciiOnly({ TERM: 'xterm', LANG: 'C' })).toBe(true);
    expect(asciiOnly({ TERM: 'xterm-256color', LANG: 'en_US.UTF-8' })).toBe(false);
  });
});

describe('errors', () => {
  const hostError = explain(['virsh', '-c', 'qemu:///system', 'start', '--domain', 'web'], 'error: Failed to start domain web\nerror: internal error: boom', 1);

  it('exit codes: host failure 1, bad input 2, unknown guest 2', () => {
    expect(exitCodeFor(hostError)).toBe(EXIT.failed);
    expect(exitCodeFor(new UserError('Bad.', 'Fix.'))).toBe(EXIT.usage);
    expect(exitCodeFor(explain(['virsh'], "error: failed to get domain 'x'", 1))).toBe(EXIT.usage);
    expect(exitCodeFor(new Error('bug'))).toBe(EXIT.failed);
  });

  it('prints sentence, fix and what ran, never a stack', () => {
    const text = formatError(hostError, false);
    expect(text).toMatch(/^virtdeck: .+\n {2}fix: .+\n {2}ran: virsh -c qemu:\/\/\/system start --domain web\n/);
    expect(text).not.toMatch(/at .*\.ts:\d+/);
    expect(formatError(new UserError('"x" is not a MAC address.', 'Write six pairs.'), false)).toBe(
      'virtdeck: "x" is not a MAC address.\n  fix: Write six pairs.\n',
    );
    expect(formatError(new TypeError('oops'), true)).toMatch(/TypeError: oops\n\s+at /);
  });

  it('JSON error shape', () => {
    expect(JSON.parse(jsonError(new HostError({ sentence: 'S.', fix: 'F.', command: ['virsh'], stderr: 'E' })))).toEqual({
      ok: false,
      error: { sentence: 'S.', fix: 'F.', command: ['virsh'], stderr: 'E' },
    });
    expect(errorPayload(new UserError('S.', 'F.'))).toEqual({ sentence: 'S.', fix: 'F.', command: [], stderr: '' });
  });
});

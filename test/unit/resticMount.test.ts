import { describe, expect, test } from 'vitest';
import { assertRecoverablePlan } from '../../src/jobs/recoveryGuard.js';
import { actionsFor } from '../../src/jobs/registry.js';
import { filesMethod, filesMethodText, mountSessionPlan, mountsUnder, RESTIC_MOUNT_KIND, unescapeFindmnt } from '../../src/model/resticMount.js';
import { localHost } from '../helpers/tinyGuest.js';

/** File-level restore from restic: mount where FUSE works, else restore first; the mount session's journal. */

describe('filesMethod', () => {
  test.each([
    [{ devFuse: true, fusermount: '/usr/bin/fusermount3' }, 'mount', 'FUSE works here (/dev/fuse, /usr/bin/fusermount3)'],
    [{ devFuse: false, fusermount: '/usr/bin/fusermount' }, 'restore', 'this host has no /dev/fuse, so restic mount cannot work'],
    [{ devFuse: true, fusermount: null }, 'restore', 'this host has no fusermount (Debian package fuse3), so restic mount cannot work'],
    [{ devFuse: false, fusermount: null }, 'restore', 'this host has no /dev/fuse, so restic mount cannot work'],
  ] as const)('%j → %s', (probe, method, why) => {
    expect(filesMethod(probe)).toEqual({ method, why });
  });

  test('the sentence says which way was used', () => {
    expect(filesMethodText('vault', 'mount')).toBe('read through restic mount of vault (nothing restored first)');
    expect(filesMethodText('vault', 'restore', 'this host has no /dev/fuse, so restic mount cannot work')).toBe(
      'restored from vault into a private temp dir (this host has no /dev/fuse, so restic mount cannot work)',
    );
  });
});

describe('mount session', () => {
  const staging = '/var/lib/virtdeck/copy-staging/0123456789ab';
  const plan = mountSessionPlan({ target: 'vault', repository: '/srv/restic', guest: 'web', run: '20261122T010000Z-inc', staging, mountpoint: `${staging}/.mnt` });

  test('finish (step 2) and roll back (undo of step 1, also when cut midway) both unmount and remove', () => {
    expect(plan.kind).toBe(RESTIC_MOUNT_KIND);
    expect(plan.steps.map((s) => s.id)).toEqual(['mount', 'unmount']);
    expect(plan.steps[0]?.undo).toMatchObject({ partial: true, action: { name: 'resticMountRemove', args: { staging } } });
    expect(plan.steps[1]?.action).toEqual({ name: 'resticMountRemove', args: { staging } });
    // No password anywhere in what the journal keeps.
    expect(JSON.stringify(plan)).not.toMatch(/password/i);
  });

  test('a later virtdeck accepts its journal, and refuses a staging directory virtdeck never makes', async () => {
    const actions = actionsFor(RESTIC_MOUNT_KIND, localHost());
    expect(() => assertRecoverablePlan({ id: 'x', kind: RESTIC_MOUNT_KIND, plan }, Object.keys(actions))).not.toThrow();
    const remove = actions.resticMountRemove as NonNullable<(typeof actions)['x']>;
    const ctx = { host: localHost(), signal: new AbortController().signal, progress: () => {}, log: () => {} };
    await expect(remove({ staging: '/' }, ctx)).rejects.toThrow('which virtdeck never makes');
    await expect(remove({ staging: '/var/lib/virtdeck/copy-staging/../../../etc' }, ctx)).rejects.toThrow('which virtdeck never makes');
  });

  test('mounts under the staging directory, deepest first; findmnt escapes unescaped', () => {
    const out = [
      '/',
      `${staging}/.mnt`,
      `${staging}/web/20261120T010000Z-full`,
      `${staging}/web/20261122T010000Z-inc`,
      `${staging}0/other`,
      '/var/lib/virtdeck/copy-staging/with\\x20space',
    ].join('\n');
    expect(mountsUnder(out, staging)).toEqual([`${staging}/web/20261120T010000Z-full`, `${staging}/web/20261122T010000Z-inc`, `${staging}/.mnt`]);
    expect(unescapeFindmnt('/a\\x20b\\x5cc')).toBe('/a b\\c');
  });
});

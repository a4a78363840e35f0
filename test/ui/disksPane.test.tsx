import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanup } from 'ink-testing-library';
import { afterEach, describe, expect, test } from 'vitest';
import { createDisksPaneController, type DisksPaneController } from '../../src/store/disksPane.js';
import type { FakeGuest, FakeImage } from '../helpers/fakeHost.js';
import { ESC, KEYS, renderApp } from './helpers.js';

afterEach(() => cleanup());

const DIR = '/srv/vm';

function setup(extra: Record<string, FakeImage> = {}, moreGuests: FakeGuest[] = []) {
  const images: Record<string, FakeImage> = {
    [`${DIR}/web.qcow2`]: { format: 'qcow2', virtualSize: 20 * 1024 ** 3 },
    [`${DIR}/files.raw`]: { format: 'raw', virtualSize: 1024 ** 3, size: 1024 ** 3 },
    [`${DIR}/spare.qcow2`]: { format: 'qcow2', virtualSize: 2 * 1024 ** 3 },
    [`${DIR}/old.qcow2`]: { format: 'qcow2', virtualSize: 1024 ** 3, check: { leaks: 4 } },
    ...extra,
  };
  const guests: FakeGuest[] = [
    { name: 'demo-web', state: 'running', vcpus: 1, memoryMiB: 512, disks: [{ source: `${DIR}/web.qcow2` }] },
    { name: 'demo-files', state: 'shut off', vcpus: 1, memoryMiB: 256, disks: [{ source: `${DIR}/files.raw`, format: 'raw', target: 'sda', bus: 'sata' }] },
    ...moreGuests,
  ];
  return renderApp(guests, {
    host: { images },
    store: { paneFactories: { disks: (host, app) => createDisksPaneController(host, app, { imageDirs: [DIR], cacheFile: null }) } },
  }).then((app) => ({ app, images }));
}

const controller = (app: Awaited<ReturnType<typeof setup>>['app']) => app.store.getState().panes.disks as DisksPaneController;

describe('Disks pane', () => {
  test('table, detail strip and footer fit 80x24; a running guest’s image is marked', async () => {
    const { app } = await setup();
    await app.press('2');
    const f = await app.waitFor('web.qcow2');
    const lines = f.split('\n');
    expect(lines).toHaveLength(24);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(80);
    expect(f).toMatch(/PATH +FORMAT +VIRTUAL +ALLOC USED BY/);
    expect(f).toMatch(/\/srv\/vm\/web\.qcow2 +qcow2 +20G +192K demo-web:vda +⚠/);
    expect(f).toMatch(/\/srv\/vm\/files\.raw +raw +1\.0G +1\.0G demo-files:sda/);
    expect(f).toContain('K check  N new  A attach  T detach  D delete');
    // The first row is selected: its path in the rule, its facts in the strip.
    expect(f).toContain('── /srv/vm/files.raw');
    expect(f).toContain('Used by   demo-files as sda (sata)');
  });

  test('navigation moves the selection; Enter shows everything with qemu-img info', async () => {
    const { app } = await setup();
    await app.press('2');
    await app.waitFor('── /srv/vm/files.raw');
    await app.press('j');
    await app.waitFor('── /srv/vm/old.qcow2');
    await app.press('G');
    const f = await app.waitFor('── /srv/vm/web.qcow2');
    expect(f).toMatch(/⚠ In use by the running guest demo-web \(vda\)/);
    await app.press(KEYS.enter);
    const d = await app.waitFor('qemu-img info -U --backing-chain');
    expect(d).toContain('Format    qcow2');
    expect(d).toContain('file format: qcow2');
    await app.press(ESC);
    await app.waitFor('K check');
    await app.press('g');
    await app.waitFor('── /srv/vm/files.raw');
  });

  test('delete is refused for an image in use, naming the guest', async () => {
    const { app, images } = await setup();
    await app.press('2');
    await app.waitFor('── /srv/vm/files.raw');
    await app.press('D');
    const f = await app.waitFor('is not deleted');
    expect(f).toContain('files.raw is used by demo-files (sda), so it is not deleted.');
    expect(f.replace(/[│\s]+/g, ' ')).toContain('virtdeck disk detach demo-files sda');
    await app.press(ESC);
    expect(images[`${DIR}/files.raw`]).toBeDefined();
    expect(app.fake.calls.some((c) => c[0] === 'rm')).toBe(false);
  });

  test('an image a running guest reaches through another name shows that guest, and delete is refused naming it', async () => {
    const link = '/srv/other/spare-link.qcow2';
    const alias: FakeGuest = { name: 'demo-alias', state: 'running', vcpus: 1, memoryMiB: 64, disks: [{ source: link }] };
    const { app, images } = await setup({ [link]: { format: 'qcow2', virtualSize: 2 * 1024 ** 3, sameAs: `${DIR}/spare.qcow2` } }, [alias]);
    await app.press('2');
    await app.waitFor(`── ${link}`);
    await app.press('G');
    await app.waitFor('── /srv/vm/web.qcow2');
    await app.press('k');
    let f = await app.waitFor('── /srv/vm/spare.qcow2');
    expect(f).toMatch(/\/srv\/vm\/spare\.qcow2 +qcow2 +2\.0G +192K demo-alias:vda/);
    await app.press('D');
    f = await app.waitFor('is not deleted');
    expect(f.replace(/[│\s]+/g, ' ')).toContain('demo-alias');
    await app.press(ESC);
    expect(images[`${DIR}/spare.qcow2`]).toBeDefined();
    expect(app.fake.calls.some((c) => c[0] === 'rm')).toBe(false);
  });

  test('delete of a free image asks for its file name and removes it', async () => {
    const { app, images } = await setup();
    await app.press('2');
    await app.waitFor('── /srv/vm/files.raw');
    await app.press('j');
    await app.press('j');
    await app.waitFor('── /srv/vm/spare.qcow2');
    await app.press('D');
    await app.waitFor('Type the name spare.qcow2 to confirm');
    expect(app.frame()).not.toContain('also delete');
    await app.type('spare');
    await app.press(KEYS.enter);
    expect(app.frame()).toContain('Enter works once the name matches exactly.');
    expect(images[`${DIR}/spare.qcow2`]).toBeDefined();
    await app.type('.qcow2');
    await app.waitFor('Enter deletes spare.qcow2 for good.');
    await app.press(KEYS.enter);
    await app.waitFor('Deleted spare.qcow2.');
    expect(images[`${DIR}/spare.qcow2`]).toBeUndefined();
    expect(app.fake.calls).toContainEqual(['rm', '-f', '--', `${DIR}/spare.qcow2`]);
    await app.waitFor((f) => !f.includes('spare.qcow2 ') && f.includes('── /srv/vm/web.qcow2'));
  });

  test('the filter applies to paths; the selection stays on its path across refreshes', async () => {
    const { app, images } = await setup();
    await app.press('2');
    await app.waitFor('── /srv/vm/files.raw');
    await app.press('/');
    await app.type('qcow');
    await app.press(KEYS.enter);
    const f = await app.waitFor('filter /qcow');
    expect(f).not.toContain('files.raw');
    expect(f).toContain('── /srv/vm/old.qcow2');
    await app.press('j');
    await app.waitFor('── /srv/vm/spare.qcow2');
    images[`${DIR}/aaa.qcow2`] = { format: 'qcow2', virtualSize: 1024 ** 2 };
    await app.press('r');
    await app.waitFor('aaa.qcow2');
    expect(app.frame()).toContain('── /srv/vm/spare.qcow2');
    expect(controller(app).store.getState().selected).toBe(`${DIR}/spare.qcow2`);
  });

  test('↓ while typing a filter moves the Disks selection, not the Guests one', async () => {
    const { app } = await setup();
    const guestBefore = app.store.getState().selected;
    await app.press('2');
    await app.waitFor('── /srv/vm/files.raw');
    await app.press('/');
    await app.type('qcow');
    await app.waitFor('── /srv/vm/old.qcow2');
    await app.press(KEYS.down);
    await app.waitFor('── /srv/vm/spare.qcow2');
    expect(app.store.getState().selected).toBe(guestBefore);
  });

  test('check shows the result and the warning stays until the file changes', async () => {
    const { app } = await setup();
    await app.press('2');
    await app.press('j');
    await app.waitFor('── /srv/vm/old.qcow2');
    await app.press('K');
    const d = await app.waitFor('Check of old.qcow2');
    expect(d).toContain('Found 0 corruption(s), 4 leaked cluster(s), 0 check error(s).');
    await app.press(ESC);
    const f = await app.waitFor('found 4 leaked clusters');
    expect(f).toContain('Check     problems found');
    expect(app.fake.calls.find((c) => c[0] === 'qemu-img' && c[1] === 'check')).not.toContain('-U');
  });

  test('attach form: pick guest and bus, then virsh attach-disk runs', async () => {
    const { app } = await setup();
    await app.press('2');
    await app.press('j');
    await app.press('j');
    await app.waitFor('── /srv/vm/spare.qcow2');
    await app.press('A');
    await app.waitFor('Attach spare.qcow2');
    // Guest choices are sorted by name: demo-files first, then demo-web.
    await app.press(KEYS.down);
    await app.press('l');
    await app.press(KEYS.enter);
    await app.waitFor('Could not attach spare.qcow2 to demo-files');
    const attach = app.fake.calls.find((c) => c[3] === 'attach-disk');
    // The fake host has no attach-disk: the failure is shown as an error dialog, but the argv is what libvirt would get.
    expect(attach).toEqual(['virsh', '-c', 'qemu:///system', 'attach-disk', '--domain', 'demo-files', '--source', `${DIR}/spare.qcow2`, '--target', 'sdb', '--driver', 'qemu', '--subdriver', 'qcow2', '--targetbus', 'scsi', '--config']);
  });

  test('C opens the convert wizard and X the expansion wizard on the selected image', async () => {
    const { app } = await setup();
    await app.press('2');
    await app.waitFor('── /srv/vm/files.raw');
    await app.press('C');
    // The wizard's code loads the first time it opens (store/onFirstUse.ts): wait for its dialog.
    await app.waitFor((f) => f.includes('/srv/vm/files.raw') && app.store.getState().dialogs.at(-1)?.kind === 'wizard');
    expect(app.store.getState().dialogs.at(-1)).toMatchObject({ kind: 'wizard', which: 'convert', imagePath: '/srv/vm/files.raw', info: { format: 'raw' } });
    app.store.getState().closeWizard(null);
    await app.waitFor('K check');
    await app.press('X');
    await app.waitFor((f) => f.includes('Expand disk') && app.store.getState().dialogs.at(-1)?.kind === 'wizard');
    expect(app.store.getState().dialogs.at(-1)).toMatchObject({ kind: 'wizard', which: 'expand', imagePath: '/srv/vm/files.raw' });
    // The wizard's store owns the keys: Ctrl-C reaches it through the console's router and closes it.
    const top = app.store.getState().dialogs.at(-1);
    expect(top?.kind === 'wizard' && top.wizard?.which).toBe('expand');
    await app.press(KEYS.ctrlC);
    await app.waitFor('K check');
    expect(app.store.getState().dialogs).toEqual([]);
  });

  test('images outside the image directories stay in sight, orphans are marked, and detach-then-delete can be done', async () => {
    const savedHome = process.env.VIRTDECK_HOME;
    const home = mkdtempSync(join(tmpdir(), 'vdtest-dsui-'));
    process.env.VIRTDECK_HOME = home;
    try {
      const away = '/srv/away';
      const aside = `${away}/data.qcow2.virtdeck-before-restore-20261207-035500`;
      const { app, images } = await setup(
        { [`${away}/data.qcow2`]: { format: 'qcow2', virtualSize: 1024 ** 3 }, [`${away}/data-orig.vmdk`]: { format: 'vmdk', virtualSize: 1024 ** 3 }, [aside]: { format: 'qcow2', virtualSize: 1024 ** 3 } },
        [{ name: 'demo-away', state: 'shut off', vcpus: 1, memoryMiB: 64, disks: [{ source: `${away}/data.qcow2` }] }],
      );
      await app.press('2');
      // The guest's directory is scanned: the original a convert kept and a restore's moved-aside copy are there, as orphans.
      let f = await app.waitFor('data-orig.vmdk');
      expect(f).toMatch(/\/srv\/away\/data-orig\.vmdk +vmdk +1\.0G +192K orphan/);
      expect(f).toMatch(/before-restore-20261207-035500 +qcow2 +1\.0G +192K orphan/);
      expect(f).toMatch(/\/srv\/away\/data\.qcow2 +qcow2 +1\.0G +192K demo-away:vda/);
      // An image in an image directory that no guest uses is an orphan too.
      expect(f).toMatch(/\/srv\/vm\/spare\.qcow2 +qcow2 +2\.0G +192K orphan/);
      const disks = controller(app);

      // N in a directory nobody scanned before: the new disk is listed after the next refresh, as an orphan.
      await app.press('N');
      await app.waitFor('New disk image');
      await app.press('\u0015');
      await app.type('/srv/made/new.qcow2');
      for (let i = 0; i < 4 && !app.frame().includes('Created /srv/made/new.qcow2'); i++) await app.press(KEYS.enter);
      await app.waitFor('Created /srv/made/new.qcow2');
      await disks.refresh();
      f = await app.waitFor('── /srv/made/new.qcow2');
      expect(f).toMatch(/\/srv\/made\/new\.qcow2 +qcow2 +10G +192K orphan/);
      expect(f).toContain('Used by   no guest: an orphan (A attaches it, D deletes it)');
      expect(statSync(join(home, 'state', 'image-dirs.json')).mode & 0o777).toBe(0o600);

      // Delete refuses a disk in use and says to detach it; after T it is still listed, and D deletes it.
      disks.store.setState({ selected: `${away}/data.qcow2` });
      await app.waitFor('── /srv/away/data.qcow2');
      await app.press('D');
      f = await app.waitFor('is not deleted');
      expect(f.replace(/[│\s]+/g, ' ')).toContain('stays in the Disks pane as an orphan, where D deletes it');
      await app.press(ESC);
      await app.press('T');
      await app.waitFor('Detach vda from demo-away?');
      await app.press('y');
      await app.waitFor('Detached vda from demo-away');
      // The guest had no other disk there: the directory is scanned because detach recorded it.
      await disks.refresh();
      f = await app.waitFor((fr) => /\/srv\/away\/data\.qcow2 +qcow2 +1\.0G +192K orphan/.test(fr));
      await app.press('D');
      await app.waitFor('Type the name data.qcow2 to confirm');
      await app.type('data.qcow2');
      await app.press(KEYS.enter);
      await app.waitFor('Deleted data.qcow2.');
      expect(images[`${away}/data.qcow2`]).toBeUndefined();
    } finally {
      if (savedHome === undefined) delete process.env.VIRTDECK_HOME;
      else process.env.VIRTDECK_HOME = savedHome;
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('the New disk dialog at 80x24 (issue 12 item 13)', () => {
  test('a 200-character path scrolls inside its field and never runs over the Path label', async () => {
    const { app } = await setup();
    await app.press('2');
    await app.waitFor('web.qcow2');
    await app.press('N');
    await app.waitFor('New disk image');
    await app.press('\u0015');
    const long = `/srv/vm/${'d'.repeat(184)}.qcow2`;
    await app.type(long.slice(0, 100));
    await app.type(long.slice(100));
    const f = await app.waitFor('d.qcow2 ]');
    const lines = f.split('\n');
    expect(lines).toHaveLength(24);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(80);
    expect(f).toMatch(/▶ Path +<d+\.qcow2 \] │/);
    expect(f).toMatch(/ {3}Format +qcow2/);
  });
});

describe('a long image path (issue 12 item 11)', () => {
  test('the table may cut the path; Enter shows it whole, wrapped, with its warnings', async () => {
    const long = `${DIR}/customers/acme-corporation/windows-server-2003-terminal-services-${'x'.repeat(30)}.qcow2`;
    const { app } = await setup({ [long]: { format: 'qcow2', virtualSize: 1024 ** 3 } }, [{ name: 'acme-ts', state: 'running', vcpus: 1, memoryMiB: 256, disks: [{ source: long }] }]);
    await app.press('2');
    await app.waitFor('windows-server');
    await app.press('g');
    await app.waitFor(/▶…x+\.qcow2/);
    await app.press(KEYS.enter);
    const d = await app.waitFor('qemu-img info -U --backing-chain');
    for (const l of d.split('\n')) expect(l.length).toBeLessThanOrEqual(80);
    const rows = d.split('\n').slice(3, -5).join('\n');
    expect(rows).not.toContain('…');
    expect(rows.replace(/[│\s]/g, '')).toContain(long);
    expect(rows.replace(/[│\s]+/g, ' ')).toContain('In use by the running guest acme-ts');
  });
});

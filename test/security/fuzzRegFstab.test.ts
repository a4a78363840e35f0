/**
 * MergeIDE reads `hivexregedit --export` of a guest's SYSTEM hive: key names, value names and data
 * are the guest's. fstab and sysctl.d edits read the host's files. Whatever either holds: a result
 * or a UserError, and a .reg virtdeck writes from what it read reads back the same.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { addNoatime, setSysctl, withNoatime } from '../../src/model/fstab.js';
import { controlSetName, describeChanges, MERGEIDE_KEYS, missingAfterMerge, parseReg, plannedChanges, renderReg, selectCurrent, virtioKeys } from '../../src/model/mergeide.js';
import { anyBytesAsText, anyText, hostileWord, onlyTyped, runs } from '../helpers/fuzz.js';

const HEADER = 'Windows Registry Editor Version 5.00';
const keyPath = fc.oneof(
  fc.constantFrom('HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001', 'HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Control\\CriticalDeviceDatabase\\pci#ven_8086&dev_7010', 'HKEY_LOCAL_MACHINE\\SYSTEM\\Select', '\\Select', ''),
  fc.array(fc.oneof(hostileWord, fc.constantFrom('Services', 'atapi', 'Control')), { maxLength: 5 }).map((p) => `HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\${p.join('\\')}`),
);
const valueName = fc.oneof(fc.constantFrom('Service', 'ClassGUID', 'Current', 'Start', ''), hostileWord);
const hexBytes = fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 40 }).map((b) => b.map((x) => x.toString(16).padStart(2, '0')).join(','));
const valueData = fc.oneof(
  fc.oneof(hostileWord, fc.string()).map((t) => `"${t.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`),
  fc.oneof(fc.nat(), fc.integer({ min: 0, max: 0xffffffff })).map((n) => `dword:${n.toString(16).padStart(8, '0')}`),
  fc.tuple(fc.constantFrom('hex', 'hex(1)', 'hex(2)', 'hex(4)', 'hex(7)', 'hex(b)', 'hex(ffffffffffff)', 'hex(0)'), hexBytes).map(([t, b]) => `${t}:${b}`),
  fc.constantFrom('dword:', 'dword:123456789', 'hex(2):0', 'hex:', '"unterminated', '"\\', '-', 'hex(zz):00'),
);
const valueLine = fc.oneof(
  { weight: 5, arbitrary: fc.tuple(valueName, valueData).map(([n, d]) => `${n === '' ? '@' : `"${n.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`}=${d}`) },
  { weight: 1, arbitrary: fc.tuple(valueName, hexBytes, hexBytes).map(([n, a, b]) => `"${n.replace(/["\\]/g, '')}"=hex(7):${a},\\\n  ${b}`) },
);
const junkLine = fc.oneof(anyText(40), fc.constantFrom('', '; comment', '[unclosed', '"name"', '"a"b', '=x', '\\'));
const section = fc.tuple(keyPath, fc.array(valueLine, { maxLength: 6 })).map(([k, v]) => [`[${k}]`, ...v]);
const header = fc.constantFrom(HEADER, 'REGEDIT4', '\ufeffWindows Registry Editor Version 5.00', 'x');
const eol = fc.constantFrom('\r\n', '\n');
/** Well-formed exports (as hivexregedit writes them, with hostile names and data) and ones with stray lines. */
const regText = fc.oneof(
  fc.tuple(header, fc.array(section, { maxLength: 6 }), eol).map(([h, s, e]) => [h, '', ...s.flat()].join(e)),
  fc.tuple(header, fc.array(fc.oneof(section, junkLine.map((l) => [l])), { maxLength: 8 }), eol).map(([h, s, e]) => [h, '', ...s.flat()].join(e)),
);

let parsedWithValues = 0;
// Most generated files have one bad line somewhere; enough must parse to test what follows.
afterAll(() => expect(parsedWithValues).toBeGreaterThan(50));

describe('fuzz: .reg export of a guest hive (MergeIDE) and fstab / sysctl edits', () => {
  it('parseReg and everything computed from it: a result or a UserError; render → parse gives the same sections', () => {
    fc.assert(
      fc.property(fc.oneof({ weight: 4, arbitrary: regText }, { weight: 1, arbitrary: anyText(1000) }, { weight: 1, arbitrary: anyBytesAsText(1000) }), (text) => {
        const sections = onlyTyped(() => parseReg(text));
        if (!sections) return;
        if (sections.some((x) => x.values.length > 0)) parsedWithValues++;
        const keys = [...MERGEIDE_KEYS, ...virtioKeys()];
        const changes = plannedChanges(keys, controlSetName(1), sections);
        describeChanges(changes, [controlSetName(1)]);
        missingAfterMerge(keys, controlSetName(1), sections);
        selectCurrent(sections);
        expect(parseReg(renderReg(sections))).toEqual(sections);
      }),
      runs(1500),
    );
  });

  it('addNoatime, withNoatime and setSysctl on any file: an edit or a UserError', () => {
    const fstabLine = fc.oneof(
      fc.tuple(fc.constantFrom('UUID=1', '/dev/sda1', 'tmpfs', ''), fc.constantFrom('/', '/var/lib/libvirt/images', '/var\\040lib', '/srv/'), fc.constantFrom('ext4', 'xfs'), fc.oneof(fc.constantFrom('defaults', 'rw,relatime', 'noatime', ''), hostileWord), fc.constantFrom('0 1', '', '0')).map((f) => f.join(fc.sample(fc.constantFrom(' ', '\t', '   '), 1)[0] ?? ' ')),
      anyText(60),
      fc.constantFrom('# comment', '', '   ', '\\777', '\\0000'),
    );
    const sysctlKey = fc.constantFrom('vm.swappiness', 'kernel.sched_autogroup_enabled', 'vm.dirty_ratio', 'net.ipv4.ip_forward');
    fc.assert(
      fc.property(fc.oneof(fc.array(fstabLine, { maxLength: 12 }).map((l) => l.join('\n')), anyText(500)), fc.constantFrom('/', '/var/lib/libvirt/images', '/var lib', '/srv'), anyText(300), sysctlKey, fc.oneof(fc.nat().map(String), hostileWord), (fstab, mountpoint, conf, key, value) => {
        onlyTyped(() => addNoatime(fstab, mountpoint));
        withNoatime(fstab.split('\n')[0] ?? '');
        setSysctl(conf, key, value);
      }),
      runs(800),
    );
  });
});

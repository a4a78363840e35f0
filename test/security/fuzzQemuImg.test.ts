/**
 * qemu-img's JSON is outside text when it describes a hostile image, and all of it is when qemu-img
 * runs on a remote host: info, check, map and measure answers of any shape end in a result or the
 * typed HostError ("qemu-img answered in a way virtdeck does not understand"), never a TypeError or
 * a zod error; compare and progress output never throw.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { allocatedDataBytes, parseCheck, parseCompare, parseInfo, parseMap, parseMeasure } from '../../src/host/qemuImg.js';
import { ProgressTracker, qemuImgProgressStream } from '../../src/model/progress.js';
import { anyText, HostError, hostileWord, onlyTyped, runs } from '../helpers/fuzz.js';

const anyJson = fc.jsonValue({ maxDepth: 4 });
const wrongish = fc.oneof(anyJson, hostileWord, fc.constant(null), fc.double(), fc.integer(), fc.boolean(), fc.constant([]), fc.constant({}));
const num = fc.oneof(fc.nat(), fc.double(), fc.constantFrom(-1, 2 ** 64, 1e308), wrongish);

const snapshot = fc.record({ id: fc.oneof(fc.string(), wrongish), name: fc.oneof(hostileWord, wrongish), 'vm-state-size': num, 'date-sec': num, 'date-nsec': num, 'vm-clock-sec': num, 'vm-clock-nsec': num }, { requiredKeys: [] });
const formatSpecific = fc.record(
  {
    type: fc.oneof(fc.constantFrom('qcow2', 'vmdk', 'luks', 'raw'), wrongish),
    data: fc.oneof(
      fc.record({ compat: fc.oneof(fc.constantFrom('1.1', '0.10'), wrongish), corrupt: fc.oneof(fc.boolean(), wrongish), bitmaps: fc.oneof(fc.array(fc.record({ name: fc.oneof(fc.string(), wrongish), flags: fc.oneof(fc.array(fc.string()), wrongish), granularity: num }, { requiredKeys: [] })), wrongish) }, { requiredKeys: [] }),
      fc.record({ cid: num, 'parent-cid': num, 'create-type': fc.oneof(fc.string(), wrongish), extents: fc.oneof(fc.array(fc.record({ filename: fc.oneof(hostileWord, wrongish), format: fc.oneof(fc.string(), wrongish), 'virtual-size': num }, { requiredKeys: [] })), wrongish) }, { requiredKeys: [] }),
      fc.dictionary(fc.constantFrom('__proto__', 'constructor', 'compat', 'x'), wrongish),
      wrongish,
    ),
  },
  { requiredKeys: [] },
);
const infoObject = fc.record(
  {
    filename: fc.oneof(hostileWord, wrongish),
    format: fc.oneof(fc.constantFrom('qcow2', 'raw', 'vmdk'), wrongish),
    'virtual-size': num,
    'actual-size': num,
    'dirty-flag': fc.oneof(fc.boolean(), wrongish),
    'cluster-size': num,
    'backing-filename': fc.oneof(hostileWord, wrongish),
    'full-backing-filename': fc.oneof(hostileWord, wrongish),
    'backing-filename-format': fc.oneof(fc.string(), wrongish),
    encrypted: fc.oneof(fc.boolean(), wrongish),
    'format-specific': formatSpecific,
    snapshots: fc.oneof(fc.array(snapshot, { maxLength: 3 }), wrongish),
  },
  { requiredKeys: [] },
);
/** Required fields right, everything else anything: gets past the schema into toImageInfo. */
const validishInfo = fc
  .tuple(fc.record({ filename: hostileWord, format: fc.constantFrom('qcow2', 'vmdk'), 'virtual-size': fc.nat() }), infoObject)
  .map(([required, rest]) => ({ ...rest, ...required, snapshots: Array.isArray(rest.snapshots) ? rest.snapshots : undefined }));
const infoText = fc.oneof(
  { weight: 4, arbitrary: infoObject.map((o) => JSON.stringify(o)) },
  { weight: 4, arbitrary: validishInfo.map((o) => JSON.stringify(o)) },
  { weight: 2, arbitrary: fc.array(infoObject, { maxLength: 3 }).map((a) => JSON.stringify(a)) },
  { weight: 1, arbitrary: anyJson.map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: anyText(300) },
);

const mapText = fc.oneof(
  fc.array(fc.record({ start: num, length: num, depth: num, present: fc.oneof(fc.boolean(), wrongish), zero: fc.oneof(fc.boolean(), wrongish), data: fc.oneof(fc.boolean(), wrongish), offset: num }, { requiredKeys: [] }), { maxLength: 5 }).map((a) => JSON.stringify(a)),
  anyJson.map((v) => JSON.stringify(v)),
  anyText(200),
);

const stats = { parsed: 0 };
// Most arbitrary objects are refused by the schema; enough must get through to test what follows it.
afterAll(() => expect(stats.parsed).toBeGreaterThan(30));

describe('fuzz: qemu-img output', () => {
  it('parseInfo: image info or a HostError', () => {
    fc.assert(
      fc.property(infoText, (stdout) => {
        const info = onlyTyped(() => parseInfo(stdout), [HostError]);
        if (info) stats.parsed++;
      }),
      runs(1500),
    );
  });

  it('parseCheck: an answer, null (a failure), or a HostError', () => {
    const checkText = fc.oneof(
      fc.record({ 'check-errors': num, corruptions: num, leaks: num, 'image-end-offset': num, filename: wrongish }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
      anyJson.map((v) => JSON.stringify(v)),
      anyText(200),
      fc.constantFrom('{', '{"check-errors": 0', ''),
    );
    fc.assert(
      fc.property(fc.oneof(fc.constantFrom(0, 1, 2, 3, 63), fc.integer()), checkText, anyText(100), (code, stdout, stderr) => {
        onlyTyped(() => parseCheck(code, stdout, stderr), [HostError]);
      }),
      runs(1000),
    );
  });

  it('parseMap (and allocatedDataBytes) and parseMeasure: a result or a HostError', () => {
    const measureText = fc.oneof(fc.record({ required: num, 'fully-allocated': num, bitmaps: num }, { requiredKeys: [] }).map((o) => JSON.stringify(o)), anyText(100));
    fc.assert(
      fc.property(mapText, measureText, (map, measure) => {
        const entries = onlyTyped(() => parseMap(map), [HostError]);
        if (entries) expect(typeof allocatedDataBytes(entries)).toBe('number');
        onlyTyped(() => parseMeasure(measure), [HostError]);
      }),
      runs(1000),
    );
  });

  it('parseCompare and the progress stream never throw on any output', () => {
    const progressish = fc.array(fc.oneof(anyText(30), fc.double().map((d) => `    (${d}/100%)\r`), fc.nat().map((n) => `(${n}.00/100%)`), fc.constantFrom('\r', '(', '/100%)', 'Images are identical.\n', 'Content mismatch at offset 99999999999999999999!\n')), { maxLength: 20 });
    fc.assert(
      fc.property(fc.integer(), progressish, (code, chunks) => {
        parseCompare(code, chunks.join(''));
        const tracker = new ProgressTracker(1024);
        const feed = qemuImgProgressStream((p) => tracker.updatePercent(p, Date.now()));
        for (const c of chunks) feed(c);
      }),
      runs(800),
    );
  });
});

/**
 * How much a guest-list refresh costs, against a libvirt test-driver host of 200 guests.
 * Run: npx tsx bench/refresh.ts [guests] [runs]
 * Prints the spawns per refresh and virtdeck's refresh time beside a bare `virsh domstats` (the
 * least any refresh could cost: one process, one RPC) and a naive one-dumpxml-per-guest refresh,
 * all measured in this run on this machine, so the ratios mean something whatever the machine.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CountingExecutor, LocalExecutor } from '../src/host/exec.js';
import type { HostContext } from '../src/host/hostContext.js';
import { listGuests } from '../src/host/virsh.js';

const GUESTS = Number(process.argv[2] ?? 200);
const RUNS = Number(process.argv[3] ?? 10);
const NAIVE_RUNS = 1; // 200 processes that each re-read the file: ~20 s

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

/**
 * One test-driver domain. UUIDs are fixed because each virsh process re-reads the file: without
 * them every process would invent new ones. One guest in four runs (with a fixed VNC port, as the
 * test driver assigns none).
 */
function domainXml(i: number): string {
  const running = i % 4 === 0;
  const disks = [0, 1]
    .map(
      (d) =>
        `<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/srv/vm/guest${i}-${d}.qcow2'/><target dev='vd${String.fromCharCode(97 + d)}' bus='virtio'/></disk>`,
    )
    .join('');
  return `  <domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
    <name>bench-${String(i).padStart(3, '0')}</name>
    <uuid>00000000-0000-4000-8000-${hex(i + 1, 12)}</uuid>
    <metadata><libosinfo:libosinfo xmlns:libosinfo="http://libosinfo.org/xmlns/libvirt/domain/1.0"><libosinfo:os id="http://debian.org/debian/12"/></libosinfo:libosinfo></metadata>
    <memory unit='MiB'>${256 + (i % 8) * 128}</memory>
    <vcpu>${1 + (i % 4)}</vcpu>
    <os><type>hvm</type></os>
    <devices>
      ${disks}
      <disk type='file' device='cdrom'><target dev='hdc' bus='ide'/><readonly/></disk>
      <interface type='bridge'><mac address='52:54:00:${hex(i >> 16, 2)}:${hex((i >> 8) & 255, 2)}:${hex(i & 255, 2)}'/><source bridge='br0'/><model type='virtio'/></interface>
      <interface type='network'><mac address='52:54:01:${hex(i >> 16, 2)}:${hex((i >> 8) & 255, 2)}:${hex(i & 255, 2)}'/><source network='default'/><model type='e1000'/></interface>
      <serial type='pty'/>
      <graphics type='vnc' port='${running ? 5900 + i : -1}' autoport='${running ? 'no' : 'yes'}' listen='127.0.0.1'/>
    </devices>
    ${running ? '' : '<test:runstate>5</test:runstate>'}
  </domain>`;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

async function timeRuns(runs: number, fn: () => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return times;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'virtdeck-bench-'));
  try {
    const file = join(dir, 'host.xml');
    writeFileSync(file, `<node>\n${Array.from({ length: GUESTS }, (_, i) => domainXml(i)).join('\n')}\n</node>\n`);
    const uri = `test://${file}`;
    const local = new LocalExecutor();
    const counter = new CountingExecutor(local);
    const host: HostContext = { name: 'bench', uri, virshExec: counter, sysExec: counter };

    const rows = await listGuests(host); // warm-up, and the correctness check
    const spawns = counter.count;
    const running = rows.filter((r) => r.state === 'running').length;
    if (rows.length !== GUESTS) throw new Error(`expected ${GUESTS} guests, found ${rows.length}`);

    // Interleaved so a busy moment on the machine hits both sides alike.
    const ours: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      ours.push(...(await timeRuns(1, () => listGuests(host))));
      bare.push(...(await timeRuns(1, () => local.run(['virsh', '-c', uri, 'domstats']))));
    }
    const naive = await timeRuns(NAIVE_RUNS, async () => {
      const names = (await local.run(['virsh', '-c', uri, 'list', '--all', '--name'])).stdout.split('\n').filter(Boolean);
      for (const n of names) await local.run(['virsh', '-c', uri, 'dumpxml', '--domain', n]);
    });

    const m = { ours: median(ours), bare: median(bare), naive: median(naive) };
    console.log(`test driver host: ${uri}`);
    console.log(`guests found:                     ${rows.length} (${running} running)`);
    console.log(`spawns per refresh:               ${spawns}`);
    console.log(`virtdeck refresh, median of ${RUNS}:   ${m.ours.toFixed(1)} ms`);
    console.log(`bare virsh domstats, median of ${RUNS}: ${m.bare.toFixed(1)} ms`);
    console.log(`ratio refresh / bare domstats:    ${(m.ours / m.bare).toFixed(2)}`);
    console.log(`naive refresh (1 + ${GUESTS} spawns), median of ${NAIVE_RUNS}: ${m.naive.toFixed(1)} ms (${(m.naive / m.ours).toFixed(1)}x virtdeck)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});

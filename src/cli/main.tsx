import pkg from '../../package.json' with { type: 'json' };
import { configuredGroup } from '../config/config.js';
import { createHostContext, type HostOptions, resolveUri, uriOrigin } from '../config/connect.js';
import { configHosts, resolveHost } from '../config/resolveHost.js';
import type { HostContext } from '../host/hostContext.js';
import { writeModes } from '../model/fileModes.js';
import { UserError } from '../model/userError.js';
import { runCli } from './commands/program.js';
import { formatError, processOutput } from './output.js';

/**
 * The `virtdeck` entry point. The console and the demo are loaded on demand, so a headless
 * `virtdeck guest …` does not pay for React and Ink when run from TypeScript sources.
 */

async function runTui(host: HostContext): Promise<void> {
  const { runTui: run } = await import('../ui/run.js');
  await run({ host });
}

async function ensureDemo(host: HostContext, say: (line: string) => void): Promise<void> {
  const demo = await import('../jobs/demo.js');
  const result = await demo.ensureDemo(host, {
    onProgress: (p) => {
      if (p.phase === 'start') say(`[${p.index + 1}/${p.total}] ${p.step.title}`);
    },
  });
  say(`${result.steps.length > 0 ? 'Demo ready' : 'Demo already set up'} in ${result.dir}; ${result.accel.reason}`);
}

async function resetDemo(host: HostContext): Promise<string[]> {
  const demo = await import('../jobs/demo.js');
  const result = await demo.resetDemo(host);
  return [...result.steps.map((s) => s.title), ...result.kept.map((k) => `Kept ${k}`)];
}

/** `--connect` (or $LIBVIRT_DEFAULT_URI) names a config host or gives a URI; config/resolveHost.ts has the rules. */
function hostFromConfig(opts: HostOptions): HostOptions {
  const chosen = resolveHost(resolveUri(opts.uri), configHosts(), uriOrigin(opts.uri));
  if (chosen instanceof UserError) throw chosen;
  return chosen;
}

// Set before anything is written: every file virtdeck or a child it starts (qemu-img, virsh, cp,
// a detached worker) creates is private from its first byte (0600, or 0640 for a configured group),
// never world-readable and narrowed by a chmod afterwards. Directories QEMU needs are made 0711.
process.umask(0o077);
process.umask(writeModes(configuredGroup()).umask);

// `virtdeck job list | head`: a reader that stops early is no error, as for coreutils. A job
// cut short this way is journaled like one whose SSH session dropped.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') throw e;
  process.exit(0);
});

try {
  process.exitCode = await runCli(process.argv.slice(2), {
    version: pkg.version,
    createHost: (opts) => createHostContext(hostFromConfig(opts)),
    runTui,
    ensureDemo,
    resetDemo,
    output: processOutput,
  });
} catch (e) {
  // runCli catches everything it knows; this is the last line against a stack trace.
  process.stderr.write(formatError(e));
  process.exitCode = 1;
}

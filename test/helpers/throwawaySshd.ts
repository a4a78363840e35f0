import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { execa } from 'execa';
import { createHostContext } from '../../src/config/connect.js';
import type { HostContext } from '../../src/host/hostContext.js';

/**
 * A "remote" host over SSH on this machine: a throwaway sshd on 127.0.0.1 with its own host key
 * and one authorized client key, and virtdeck connected with
 * qemu+ssh://root@127.0.0.1:PORT/system?keyfile=KEY&no_verify=1 — libvirt's own ssh transport for
 * virsh, and virtdeck's SshExecutor for qemu-img and the disk jobs. sshd's log shows each login.
 *
 * Every session goes through a ForceCommand wrapper that appends the command it was asked for
 * ($SSH_ORIGINAL_COMMAND) to a log and then runs it with sh -c, as sshd would have: a
 * test reads `commands()` to assert which commands crossed SSH and which did not.
 */
export interface ThrowawaySshd {
  host: HostContext;
  port: number;
  /** The client key authorized for root. */
  keyFile: string;
  /** How many logins sshd has accepted so far. */
  logins(): number;
  /** Every command that arrived over SSH so far, in order (an interactive login is ''). */
  commands(): string[];
  /** Forgets the commands logged so far, so a test sees only its own. */
  clearCommands(): void;
  stop(): void;
}

/** A path as one word for the wrapper script (scratch directories hold no quote). */
function shellWord(path: string): string {
  return `'${path.replace(/'/g, `'\\''`)}'`;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface ThrowawaySshdOptions {
  /** argv that sshd is run through, e.g. nsenter into another mount namespace (test/helpers/secondHost.ts). */
  enter?: string[];
  /** Header name of the host context (default: 127.0.0.1). */
  name?: string;
}

/** Starts sshd with its keys and config in dir (a scratch directory the caller removes). */
export async function startThrowawaySshd(dir: string, o: ThrowawaySshdOptions = {}): Promise<ThrowawaySshd> {
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_key')]);
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'client_key')]);
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'client_key.pub')));
  const port = await freePort();
  const log = join(dir, 'sshd.log');
  const commandLog = join(dir, 'commands.log');
  // NUL after each command: commands may hold newlines (a `sh -c` script).
  const forceCommand = join(dir, 'force-command');
  writeFileSync(
    forceCommand,
    [
      '#!/bin/sh',
      `printf '%s\\0' "$SSH_ORIGINAL_COMMAND" >> ${shellWord(commandLog)}`,
      '[ -n "$SHELL" ] || SHELL=/bin/sh',
      'if [ -z "$SSH_ORIGINAL_COMMAND" ]; then exec "$SHELL" -l; fi',
      // sh, not the login shell again: sshd's login shell already ran this wrapper.
      'exec /bin/sh -c "$SSH_ORIGINAL_COMMAND"',
      '',
    ].join('\n'),
  );
  chmodSync(forceCommand, 0o755);
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_key')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'LogLevel INFO',
      `ForceCommand ${forceCommand}`,
      // bash, run by sshd with no SHLVL, reads root's ~/.bashrc even for a command (Debian's
      // SSH_SOURCE_BASHRC): on a machine whose .bashrc starts pyenv, that added a second or more to
      // every session and put pyenv's python3 shim first on PATH. A real host's sessions (an ESXi
      // host's busybox sh) pay nothing like it, so the stand-in's should not either.
      'SetEnv SHLVL=1',
      '',
    ].join('\n'),
  );
  // sshd's privilege separation needs this directory. It stays after stop(): another sshd (a test
  // file running alongside, another checkout's bench) may be using it, and without it every login to
  // that one fails with "kex_exchange_identification: Connection reset by peer". An empty directory
  // in /run, which Debian's ssh service makes at boot anyway.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const sshdArgv = [...(o.enter ?? []), '/usr/sbin/sshd', '-D', '-f', join(dir, 'sshd_config'), '-E', log];
  const sshd: ChildProcess = spawn(sshdArgv[0]!, sshdArgv.slice(1), { stdio: 'ignore' });
  const stop = () => {
    sshd.kill('SIGTERM');
  };
  // libvirt's ssh transport runs this instead of plain ssh: the same ssh, recording no host keys.
  const wrapper = join(dir, 'ssh-no-known-hosts');
  writeFileSync(wrapper, '#!/bin/sh\nexec ssh -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR "$@"\n');
  chmodSync(wrapper, 0o755);
  const keyFile = join(dir, 'client_key');
  const uri = `qemu+ssh://root@127.0.0.1:${port}/system?keyfile=${keyFile}&no_verify=1&command=${wrapper}`;
  // keyfile= and command= are what a config file host entry may hold, never a typed URI.
  const host = createHostContext({ uri, fromConfig: true, ...(o.name ? { name: o.name } : {}) });
  const deadline = Date.now() + 10_000;
  for (;;) {
    const r = await host.sysExec.run(['true'], { okExitCodes: [255] }).catch(() => null);
    if (r?.exitCode === 0) break;
    if (Date.now() > deadline) {
      stop();
      throw new Error(`sshd did not come up: ${existsSync(log) ? readFileSync(log, 'utf8') : ''}`);
    }
    await new Promise((r2) => setTimeout(r2, 200));
  }
  const logins = () => (existsSync(log) ? (readFileSync(log, 'utf8').match(/Accepted publickey for root/g)?.length ?? 0) : 0);
  const commands = () => (existsSync(commandLog) ? readFileSync(commandLog, 'utf8').split('\0').slice(0, -1) : []);
  const clearCommands = () => writeFileSync(commandLog, '');
  return { host, port, keyFile, logins, commands, clearCommands, stop };
}

import { describe, expect, it } from 'vitest';
import { parseSshOptionsText } from '../../src/model/p2vPlan.js';
import { sshFailure, sshTargetOf } from '../../src/model/sshFailure.js';

/** ssh's stderr as OpenSSH 9.2 prints it with BatchMode=yes (captured against a throwaway sshd). */
const CHANGED = [
  '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@',
  '@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @',
  '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@',
  'IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!',
  'Offending ED25519 key in /root/.ssh/known_hosts:3',
  'Host key for [10.0.0.5]:2222 has changed and you have requested strict checking.',
  'Host key verification failed.',
].join('\r\n');

describe('sshFailure: ssh\'s own line and the fix for its cause', () => {
  it('a changed host key (a live system makes a new one at each boot): ssh-keygen -R, then ssh-keyscan', () => {
    const f = sshFailure(CHANGED, { destination: 'root@10.0.0.5', port: 2222 });
    expect(f.code).toBe('changed-host-key');
    expect(f.sentence).toContain('(ssh said: "Host key for [10.0.0.5]:2222 has changed and you have requested strict checking.")');
    expect(f.fix).toContain("ssh-keygen -R '[10.0.0.5]:2222'");
    expect(f.fix).toMatch(/ssh-keyscan -p 2222 10\.0\.0\.5 >> ~\/\.ssh\/known_hosts$/);
  });

  it('an unknown host key on port 22 names no -p and the known_hosts file given with -o', () => {
    const f = sshFailure('Host key verification failed.\r\n', { destination: 'root@oldbox', sshOptions: ['-o', 'UserKnownHostsFile=/root/p2v_hosts /root/more_hosts'] });
    expect(f.sentence).toBe('ssh refused to log in to root@oldbox: this machine does not know its host key (ssh said: "Host key verification failed.").');
    expect(f.fix).toMatch(/then record it: ssh-keyscan oldbox >> \/root\/p2v_hosts$/);
  });

  it('a name ssh cannot resolve, a timeout, and anything else keep ssh\'s last line', () => {
    expect(sshFailure('ssh: Could not resolve hostname oldbx: Name or service not known\r\n', { destination: 'root@oldbx' })).toMatchObject({ code: 'unresolved', sentence: 'ssh does not know the host oldbx (ssh said: "ssh: Could not resolve hostname oldbx: Name or service not known").' });
    expect(sshFailure('ssh: connect to host 10.9.9.9 port 22: Connection timed out\r\n', { destination: 'root@10.9.9.9' }).code).toBe('unreachable');
    expect(sshFailure('kex_exchange_identification: read: Connection reset by peer\r\n', { destination: 'root@h' }).sentence).toBe('ssh could not log in to root@h (ssh said: "kex_exchange_identification: read: Connection reset by peer").');
  });

  it('reads the target back from a journal\'s ssh argv', () => {
    expect(sshTargetOf(['ssh', '-o', 'BatchMode=yes', '-p', '2222', '-i', '/k', '-o', 'UserKnownHostsFile=/h', '--', 'root@h', 'dd if=/dev/sda'])).toEqual({ destination: 'root@h', port: 2222, identityFile: '/k', sshOptions: ['-o', 'BatchMode=yes', '-o', 'UserKnownHostsFile=/h'] });
  });
});

describe('the wizard\'s SSH -o field', () => {
  it('takes Key=value words, with or without -o, as the CLI\'s --ssh-option', () => {
    expect(parseSshOptionsText('')).toEqual([]);
    expect(parseSshOptionsText(' UserKnownHostsFile=/tmp/h  -o StrictHostKeyChecking=accept-new -oPort=22')).toEqual(['UserKnownHostsFile=/tmp/h', 'StrictHostKeyChecking=accept-new', 'Port=22']);
    expect(() => parseSshOptionsText('ProxyCommand=nc %h 22')).toThrow('"%h" is not an ssh option.');
  });
});

describe('a long line from the source', () => {
  it('is quoted cut short', () => {
    const f = sshFailure(`${'x'.repeat(500)}\n`, { destination: 'root@h' });
    expect(f.sentence.length).toBeLessThan(260);
    expect(f.sentence).toContain('…');
  });
});

/**
 * The Guests pane's controller: what its keys (and the `:` commands that name a guest) do to the
 * guests — start, shutdown with its wait and the offer to force off, reboot, pause, autostart,
 * undefine, raw XML in $EDITOR, serial console, VNC, QEMU log, details — through the app store's
 * dialogs and messages. The guest list itself (refresh, selection, filter) stays in the app store:
 * every pane, the header and `:` completion read it.
 */

import type { HostContext } from '../host/hostContext.js';
import * as virsh from '../host/virsh.js';
import { defineEdited } from '../jobs/defineEdited.js';
import { deleteGuest, guestDeleteSummary, guestDiskSources, notDeletedError } from '../jobs/guestDelete.js';
import { countOf } from '../model/countText.js';
import { parseDomainXml } from '../model/domainXml.js';
import type { Env } from '../model/env.js';
import { isActive } from '../model/guest.js';
import { formatBytes } from '../model/units.js';
import { UserError } from '../model/userError.js';
import type { AppState, AppStore } from './appState.js';
import { agentDetailLines } from './agentDetails.js';
import { editText } from './editor.js';
import type { ActionId } from './keys/table.js';
import type { PaneController } from './panes.js';
import { moveFor } from './selection.js';
import { guestForAction, listedGuests } from './selectors.js';
import { sshTargetFor, vncTunnelCommand } from './sshTarget.js';
import type { HandOff } from './types.js';
import { guestWarnings } from './warnings.js';
import { unifiedDiff } from './xmlDiff.js';

export interface GuestsPaneOptions {
  /** How long an ACPI shutdown may take before force off is offered. */
  shutdownTimeoutMs?: number;
  handOff?: HandOff;
  env?: Env;
}

export interface GuestsPaneController extends PaneController {
  startGuest(name: string): Promise<void>;
  askShutdown(name: string): void;
  askForceOff(name: string): void;
  askReboot(name: string): void;
  pauseResume(name: string): Promise<void>;
  toggleAutostart(name: string): Promise<void>;
  askUndefine(name: string): void;
  editXml(name: string, draft?: string): Promise<void>;
  openConsole(name: string): Promise<void>;
  showVnc(name: string): Promise<void>;
  showLog(name: string): Promise<void>;
  showDetails(name: string): void;
}

export function createGuestsPaneController(home: HostContext, app: AppStore, opts: GuestsPaneOptions = {}): GuestsPaneController {
  const shutdownTimeoutMs = opts.shutdownTimeoutMs ?? 60_000;
  const handOff: HandOff = opts.handOff ?? ((run) => run());
  const env = opts.env ?? process.env;
  const get = app.getState;
  const waits = new Set<AbortController>();
  const row = (name: string) => get().guestRow(name);
  /**
   * The host an action on `name` goes to: its row's (the all-hosts view lists several hosts).
   * Asked once, when the key is pressed; what follows (a confirm, a wait) keeps that host even if
   * the selection moves meanwhile.
   */
  const hostOf = (name: string): HostContext | null => {
    const on = get().hostOfGuest(name);
    if (!on) get().setMessage(`virtdeck cannot tell which host's ${name} is meant; select its row first.`, 'error');
    return on;
  };

  /** A question's name for the guest: with its host in the all-hosts view, where two hosts may have the name. */
  const asked = (name: string, host: HostContext) => (get().allHosts ? `${name} (${host.name})` : name);

  const showError: AppState['showError'] = (...args) => get().showError(...args);
  /** confirm → busy line → host call → refresh; failures become the error dialog. */
  const act: AppState['act'] = (...args) => get().act(...args);

  const forceOff = (name: string, host: HostContext) =>
    act(`Could not force ${name} off`, `Forcing ${name} off…`, () => virsh.destroy(host, name), `${name} is off.`);

  const waitForShutdown = async (name: string, host: HostContext) => {
    const abort = new AbortController();
    waits.add(abort);
    try {
      const stopped = await virsh.waitForState(host, name, 'shut off', shutdownTimeoutMs, abort.signal);
      if (abort.signal.aborted) return;
      void get().refresh();
      if (stopped) {
        get().setMessage(`${name} is shut off.`);
        return;
      }
      get().pushDialog({
        kind: 'confirm',
        title: `${asked(name, host)} is still running`,
        lines: [
          `${name} did not shut down within ${Math.round(shutdownTimeoutMs / 1000)} s of the ACPI request.`,
          'The guest may have no ACPI support, or it is busy or asking a question on its screen.',
          'Forcing it off is like pulling the power cord: unsaved data in the guest is lost.',
        ],
        yes: 'force off',
        onYes: () => forceOff(name, host),
        onNo: () => get().setMessage(`${name} was left running.`),
      });
    } catch (e) {
      if (!abort.signal.aborted) showError(`Could not follow ${name}'s shutdown`, e);
    } finally {
      waits.delete(abort);
    }
  };

  const guestFor = (name: string | null | undefined): string | null => {
    const picked = guestForAction(get(), name);
    if ('name' in picked) return picked.name;
    get().setMessage(picked.problem, 'error');
    return null;
  };

  /** What an action does to a guest (the selected one, or the one a `:` command names); null for others. */
  const guestAction = (action: ActionId): ((name: string) => unknown) | null => {
    const c = controller;
    switch (action) {
      case 'start':
        return c.startGuest;
      case 'shutdown':
        return c.askShutdown;
      case 'forceOff':
        return c.askForceOff;
      case 'reboot':
        return c.askReboot;
      case 'pauseResume':
        return c.pauseResume;
      case 'autostart':
        return c.toggleAutostart;
      case 'undefine':
        return c.askUndefine;
      // The settings form is a dialog of the console's; the pane picks the guest.
      case 'edit':
        return (name) => get().openSettings(name);
      case 'editXml':
        return (name) => c.editXml(name);
      case 'console':
        return c.openConsole;
      case 'vnc':
        return c.showVnc;
      case 'log':
        return c.showLog;
      case 'details':
        return c.showDetails;
      default:
        return null;
    }
  };

  const controller: GuestsPaneController = {
    dispatch(action, guest) {
      const s = get();
      const m = moveFor(action);
      if (m !== null) {
        if (m === 'top' || m === 'bottom') s.selectEdge(m);
        else s.moveSelection(m);
        return true;
      }
      if (action === 'sortCycle') {
        s.cycleSort();
        return true;
      }
      if (action === 'refresh') {
        s.setMessage('Refreshing…', 'busy');
        void s.refresh().then(() => get().setMessage('Refreshed.'));
        return true;
      }
      const run = guestAction(action);
      if (!run) return false;
      const name = guestFor(guest);
      if (name) void run(name);
      return true;
    },

    dispose() {
      for (const w of waits) w.abort();
      waits.clear();
    },

    completions: () => [...new Set(listedGuests(get()).map((g) => g.name))],

    async startGuest(name) {
      const host = hostOf(name);
      if (!host) return;
      if (row(name)?.state === 'running') return get().setMessage(`${name} is already running.`);
      await act(`Could not start ${name}`, `Starting ${name}…`, () => virsh.start(host, name), `${name} started.`);
    },

    askShutdown(name) {
      const host = hostOf(name);
      if (!host) return;
      if (!isActive(row(name)?.state ?? 'shut off')) return get().setMessage(`${name} is already shut off.`);
      get().pushDialog({
        kind: 'confirm',
        title: `Shut down ${asked(name, host)}?`,
        lines: [
          `virtdeck asks ${name} to shut down (ACPI power button) and waits up to ${Math.round(shutdownTimeoutMs / 1000)} s.`,
          'If it is still running then, you can force it off.',
        ],
        yes: 'shut down',
        onYes: async () => {
          get().setMessage(`Shutting down ${name}… waiting up to ${Math.round(shutdownTimeoutMs / 1000)} s.`, 'busy');
          try {
            await virsh.shutdown(host, name);
          } catch (e) {
            showError(`Could not shut down ${name}`, e);
            void get().refresh();
            return;
          }
          void get().refresh();
          await waitForShutdown(name, host);
        },
      });
    },

    askForceOff(name) {
      const host = hostOf(name);
      if (!host) return;
      if (!isActive(row(name)?.state ?? 'shut off')) return get().setMessage(`${name} is already shut off.`);
      get().pushDialog({
        kind: 'confirm',
        title: `Force ${asked(name, host)} off?`,
        lines: [`This cuts the power of ${name} at once, like pulling the cord.`, 'Unsaved data in the guest is lost; its disks may need a check at next boot.'],
        yes: 'force off',
        onYes: () => forceOff(name, host),
      });
    },

    askReboot(name) {
      const host = hostOf(name);
      if (!host) return;
      if (row(name)?.state !== 'running') return get().setMessage(`${name} is not running, so it cannot be rebooted.`, 'error');
      get().pushDialog({
        kind: 'confirm',
        title: `Reboot ${asked(name, host)}?`,
        lines: [`virtdeck asks ${name} to restart (ACPI); the guest decides how fast.`],
        yes: 'reboot',
        onYes: () => act(`Could not reboot ${name}`, `Rebooting ${name}…`, () => virsh.reboot(host, name), `${name} is rebooting.`),
      });
    },

    async pauseResume(name) {
      const host = hostOf(name);
      if (!host) return;
      const state = row(name)?.state;
      if (state === 'paused') {
        await act(`Could not resume ${name}`, `Resuming ${name}…`, () => virsh.resume(host, name), `${name} is running again.`);
      } else if (state === 'running' || state === 'idle') {
        await act(`Could not pause ${name}`, `Pausing ${name}…`, () => virsh.suspend(host, name), `${name} is paused; press p again to resume.`);
      } else {
        get().setMessage(`${name} is ${state ?? 'unknown'}; only a running guest can be paused.`, 'error');
      }
    },

    async toggleAutostart(name) {
      const host = hostOf(name);
      if (!host) return;
      const on = !row(name)?.autostart;
      await act(
        `Could not change autostart of ${name}`,
        `${on ? 'Enabling' : 'Disabling'} autostart of ${name}…`,
        () => virsh.setAutostart(host, name, on),
        on ? `${name} now starts with the host.` : `${name} no longer starts with the host.`,
      );
    },

    askUndefine(name) {
      const host = hostOf(name);
      if (!host) return;
      const running = isActive(row(name)?.state ?? 'shut off');
      const disks = guestDiskSources(row(name) ?? { disks: [] });
      get().pushDialog({
        kind: 'typeName',
        title: `Delete ${asked(name, host)}?`,
        lines: [
          `This removes the definition of ${name} from libvirt.`,
          running ? `${name} is running: it keeps running until it stops, then it is gone.` : 'Its disk images are kept unless you tick the box.',
          ...(disks.length ? [`The box also deletes ${disks.join(', ')}.`] : []),
        ],
        name,
        typed: '',
        deleteDisks: false,
        focus: 'name',
        onConfirm: async (deleteDisks) => {
          if (deleteDisks && isActive(row(name)?.state ?? 'shut off')) {
            showError(`Could not delete ${name}`, new UserError(`${name} is still running, so its disks are in use.`, `Shut ${name} down first (S), then delete it with its disks.`));
            return;
          }
          get().setMessage(`Deleting ${name}…`, 'busy');
          try {
            const r = await deleteGuest(host, name, { withDisks: deleteDisks, confirmed: deleteDisks ? disks : undefined });
            if (r.notDeleted.length === 0) get().setMessage(guestDeleteSummary(name, deleteDisks, r));
            else showError(`${name} is deleted, not all its disks`, notDeletedError(name, r));
          } catch (e) {
            showError(`Could not delete ${name}`, e);
          } finally {
            void get().refresh();
          }
        },
      });
    },

    async editXml(name, draft) {
      const host = hostOf(name);
      if (!host) return;
      let current: string;
      try {
        current = await virsh.dumpXml(host, name, { inactive: true });
      } catch (e) {
        showError(`Could not read the XML of ${name}`, e);
        return;
      }
      let edited: { text: string; exitCode: number };
      try {
        edited = await editText(host.virshExec, handOff, draft ?? current, `${name}.xml`, env);
      } catch (e) {
        showError('Could not run the editor', e);
        return;
      } finally {
        app.setState((s) => ({ redraw: s.redraw + 1 }));
      }
      if (edited.exitCode !== 0) return get().setMessage(`The editor exited with code ${edited.exitCode}; ${name} is unchanged.`, 'error');
      if (edited.text === current) return get().setMessage(`No changes to the XML of ${name}.`);
      const reopen = {
        key: 'e',
        label: 're-open the editor with your text',
        run: () => {
          get().popDialog();
          void controller.editXml(name, edited.text);
        },
      };
      try {
        // The admin's text is read like any outside XML: a DOCTYPE or entity is refused before virsh sees it.
        parseDomainXml(edited.text, { source: 'The XML you edited' });
      } catch (e) {
        showError(`Could not define ${name}`, e, reopen);
        return;
      }
      get().pushDialog({
        kind: 'diff',
        title: `Define ${asked(name, host)} from your XML?`,
        summary: ['virsh define --validate checks it against the schema first.'],
        lines: unifiedDiff(name, current, edited.text),
        offset: 0,
        onApply: async () => {
          get().popDialog();
          get().setMessage(`Defining ${name}…`, 'busy');
          try {
            await defineEdited(host, current, edited.text);
            get().setMessage(`Defined ${name} from your XML.`);
          } catch (e) {
            showError(`Could not define ${name}`, e, reopen);
          } finally {
            void get().refresh();
          }
        },
      });
    },

    async openConsole(name) {
      const host = hostOf(name);
      if (!host) return;
      const g = row(name);
      if (g && g.state !== 'running' && g.state !== 'paused') return get().setMessage(`${name} is ${g.state}; start it (s) before opening its console.`, 'error');
      if (g && !g.hasSerial) return get().setMessage(`${name} has no serial console; use VNC (v) to see its screen.`, 'error');
      try {
        const code = await handOff(() => host.virshExec.interactive(['virsh', '-c', host.uri, 'console', name]));
        get().setMessage(code === 0 ? `Left the console of ${name}.` : `virsh console ended with code ${code}.`, code === 0 ? 'info' : 'error');
      } catch (e) {
        showError(`Could not open the console of ${name}`, e);
      } finally {
        app.setState((s) => ({ redraw: s.redraw + 1 }));
        void get().refresh();
      }
    },

    async showVnc(name) {
      const host = hostOf(name);
      if (!host) return;
      const g = row(name);
      if (!g) return;
      if (!g.vnc) {
        get().pushDialog({ kind: 'text', title: `VNC of ${name}`, lines: [`${name} has no VNC display.`, 'Press e and set VNC port to auto to add one.'], offset: 0 });
        return;
      }
      let port: number | null = typeof g.vnc.port === 'number' ? g.vnc.port : null;
      if (g.state === 'running') {
        try {
          const display = await virsh.vncDisplay(host, name);
          const n = display?.match(/:(\d+)$/)?.[1];
          if (n !== undefined) port = 5900 + Number(n);
        } catch (e) {
          showError(`Could not ask libvirt for the VNC display of ${name}`, e);
          return;
        }
      }
      const listen = g.vnc.listen ?? '127.0.0.1';
      const lines = [`Listen  ${listen}`, `Port    ${port ?? 'chosen by libvirt when the guest starts (auto)'}`];
      if (port !== null) {
        const remote = listen === '0.0.0.0' || listen === '::' ? '127.0.0.1' : listen;
        const hostname = host === home ? (get().versions?.hostname ?? host.name) : host.name;
        const target = sshTargetFor(host.uri, hostname);
        const tunnel = vncTunnelCommand(host.uri, hostname, port, remote);
        lines.push('', 'From your desktop, open a tunnel and point a viewer at it:', `  ${tunnel}`, `  vncviewer localhost:${port}`);
        if (remote !== listen) lines.push('', `It also listens on every address, so vncviewer ${target.replace(/^.*@/, '')}:${port} works without the tunnel.`);
      } else {
        lines.push('', 'Start the guest, then press v again for the port and the tunnel command.');
      }
      get().pushDialog({ kind: 'text', title: `VNC of ${name}`, lines, offset: 0 });
    },

    async showLog(name) {
      const host = hostOf(name);
      if (!host) return;
      get().setMessage(`Reading the QEMU log of ${name}…`, 'busy');
      try {
        const path = virsh.qemuLogPath(name, host.uri);
        const text = (await virsh.readQemuLog(host, name, 200)).replace(/\n$/, '');
        const lines = text === '' ? [] : text.split('\n');
        app.setState({ message: null });
        get().pushDialog({ kind: 'text', title: `${path} (last ${countOf(lines.length, 'line')})`, lines: lines.length ? lines : ['(the log is empty)'], offset: Number.MAX_SAFE_INTEGER, follow: true });
      } catch (e) {
        showError(`Could not read the QEMU log of ${name}`, e);
      }
    },

    showDetails(name) {
      const g = row(name);
      if (!g) return;
      const lines = [
        `State      ${g.state}${g.id !== null ? ` (id ${g.id})` : ''}${g.persistent ? '' : ', transient'}`,
        `UUID       ${g.uuid}`,
        `CPU, RAM   ${g.vcpus} vCPU, ${formatBytes(g.memoryKiB * 1024)}`,
        `OS         ${g.osType ?? 'not recorded'}`,
        `Autostart  ${g.autostart ? 'yes' : 'no'}`,
        `VNC        ${g.vnc ? `${g.vnc.port} on ${g.vnc.listen ?? '127.0.0.1'}` : 'none'}`,
        `Serial     ${g.hasSerial ? 'yes (c opens it)' : 'none'}`,
        ...agentDetailLines(g, get().guestAgent.get(g.name)),
        '',
        ...g.disks.map((d) => `${d.target.padEnd(5)} ${d.device.padEnd(6)} ${d.bus.padEnd(7)} ${d.format ?? '-'}  ${d.source ?? '(empty)'}`),
        ...g.nics.map((n) => `net   ${n.mac}  ${n.type} ${n.source ?? ''}  ${n.model ?? ''}`),
      ];
      // The detail strip cuts its warnings at the edge and shows only the first: here they are all, whole.
      const warnings = guestWarnings(g, listedGuests(get()).filter((o) => o.host === g.host));
      if (warnings.length) lines.push('', 'Warnings:', ...warnings.map((w) => `  ${w}`));
      const on = g.host ? [`Host       ${g.host}`] : [];
      get().pushDialog({ kind: 'text', title: name, lines: [`Name       ${g.name}`, ...on, ...lines], offset: 0 });
    },
  };
  return controller;
}

/**
 * Import a VMware VM: a .vmx or an OVA/OVF export → pick the file (or an ESXi host → its VM) → what was read → disks, name and bus → network cards →
 * review → run. Draws the wizard's store (store/wizards/import); keys reach the store through the
 * router.
 */
import { Box } from 'ink';
import Spinner from 'ink-spinner';
import { type ReactNode, useMemo } from 'react';
import { useStore } from 'zustand';
import { hintLine } from '../../store/keys/router.js';
import { IMPORT_STEP_TITLES, vmListLine } from '../../store/wizards/import/importForm.js';
import { IMPORT_ROWS, type ImportWizardStore } from '../../store/wizards/import/importWizard.js';
import { FileBrowser } from '../components/FileBrowser.js';
import { FormView } from '../components/FormView.js';
import { RunSteps } from '../components/RunSteps.js';
import { visibleWindow } from '../components/table.js';
import { Text } from '../components/Text.js';
import { ProblemLines, WizardFrame } from '../components/WizardParts.js';
import { chooseTheme, colorFor, type Theme } from '../theme.js';

export function ImportVmwareWizardView(props: { store: ImportWizardStore; theme?: Theme; width?: number }) {
  const theme = useMemo(() => props.theme ?? chooseTheme(process.env), [props.theme]);
  const width = Math.min(props.width ?? 80, 80);
  const s = useStore(props.store);
  const sep = theme.symbols.separator;
  const header = s.result
    ? `Import a VMware VM${sep}${s.result.ok ? 'done' : 'not done'}`
    : s.run
      ? `Import a VMware VM${sep}running`
      : `Import a VMware VM${sep}step ${s.stepNumber} of ${s.stepCount}${sep}${IMPORT_STEP_TITLES[s.step]}`;

  let body: ReactNode;
  if (s.result) {
    body = (
      <Box flexDirection="column">
        {s.result.lines.map((l) => (
          <Text key={l} color={s.result?.ok ? colorFor(theme, 'ok') : colorFor(theme, 'error')} wrap="wrap">
            {l}
          </Text>
        ))}
      </Box>
    );
  } else if (s.run) {
    body = <RunSteps run={s.run} width={width} theme={theme} />;
  } else if (s.step === 'file') {
    body = <FileBrowser files={s.files} theme={theme} rows={IMPORT_ROWS} active={!s.busy && s.files.edited} />;
  } else if (s.step === 'vm' && s.esxi) {
    const { listing, target } = s.esxi;
    const { start, end } = visibleWindow(listing.vms.length, s.vmCursor, IMPORT_ROWS - 2);
    body = (
      <Box flexDirection="column">
        <Text color={colorFor(theme, 'muted')} wrap="truncate-end">
          {`${listing.vms.length} VM${listing.vms.length === 1 ? '' : 's'} on ${target.destination}${listing.vimCmd ? '' : ' (no vim-cmd: power state from the .lck locks)'}`}
        </Text>
        <Text color={colorFor(theme, 'muted')} wrap="truncate-end">
          {`  ${'NAME'.padEnd(24)}  ${'POWER'.padEnd(13)}  DATASTORE/DIRECTORY`}
        </Text>
        {listing.vms.slice(start, end).map((vm, i) => {
          const here = start + i === s.vmCursor;
          return (
            <Text key={vm.vmx} wrap="truncate-end" bold={here} color={here ? colorFor(theme, 'accent') : vm.power === 'off' ? undefined : colorFor(theme, 'muted')}>
              {here ? theme.symbols.pointer : ' '} {vmListLine(vm, listing.root, width - 6)}
            </Text>
          );
        })}
      </Box>
    );
  } else if (s.step === 'read' || s.step === 'review') {
    body = (
      <Box flexDirection="column">
        {s.lines.slice(s.scroll, s.scroll + IMPORT_ROWS).map((l, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: lines of a fixed viewport; the index is the identity.
          <Text key={i} wrap="truncate-end" color={l.mark === 'warn' ? colorFor(theme, 'warn') : undefined}>
            {l.mark ? `${theme.symbols[l.mark]} ${l.text}` : l.text}
          </Text>
        ))}
      </Box>
    );
  } else {
    const form = s.step === 'kind' ? s.source : s.step === 'host' ? s.esxiHost : s.step === 'disks' ? s.disks : s.nics;
    body = (
      <Box flexDirection="column">
        {form ? <FormView form={form} theme={theme} active={!s.busy} /> : null}
        {s.step === 'host' ? (
          <Text color={colorFor(theme, 'muted')} wrap="wrap">
            virtdeck logs in with ssh (Secure Shell enabled on the host), lists every .vmx under /vmfs/volumes with its power state, and copies the VM you pick; the host is only read.
          </Text>
        ) : null}
        {s.step === 'nics' ? (
          <Text color={colorFor(theme, 'muted')} wrap="wrap">
            Each card keeps its MAC from the .vmx: Windows ties its IP settings to the MAC, and a new MAC would appear as a new card without them.
          </Text>
        ) : null}
      </Box>
    );
  }
  return (
    <WizardFrame title={header} hostName={s.hostName} width={width} theme={theme}>
      {body}
      {s.busy ? (
        <Text>
          {theme.ascii ? '...' : <Spinner type="dots" />} {s.busy}
        </Text>
      ) : null}
      {s.problem && !s.run ? <ProblemLines problems={[s.problem]} theme={theme} /> : null}
      <Text color={colorFor(theme, 'muted')} wrap="wrap">
        {hintLine(s.owner.scopes(), s.jobs.hintVars())}
      </Text>
    </WizardFrame>
  );
}

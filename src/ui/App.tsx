/**
 * The frame: header · tabs · pane · detail strip · status line · key hints, with the top dialog
 * in place of pane and detail strip. Normal-mode keys go through KEYMAP; a dialog owns the keys
 * while it is open.
 */
import { Box, useApp as useInkApp, useStdout } from 'ink';
import { lazy, memo, type ReactNode, Suspense, useEffect, useMemo } from 'react';
import type { HostContext } from '../host/hostContext.js';
import { isActive } from '../model/guest.js';
import { hostMeters, metersLayout } from '../model/hostMeters.js';
import { hostsAnswering } from '../store/allHosts.js';
import type { AppState, AppStore } from '../store/appStore.js';
import { AppStoreProvider, useApp, useAppStoreApi } from '../store/context.js';
import { filterGuests, isRow, rowKey } from '../store/selectors.js';
import type { Dialog, ListedGuest } from '../store/types.js';
import { DetailStrip } from './components/DetailStrip.js';
import { ConfirmView, DiffView, ErrorView, HelpView, TextView, TypeNameView } from './components/dialogs.js';
import { Footer } from './components/Footer.js';
import { Rule, Section, ThemeProvider, useTheme } from './components/Frame.js';
import { headerTitle, Tabs } from './components/Header.js';
import { HostPickerView } from './components/HostPicker.js';
import { RecoveryView } from './components/RecoveryDialog.js';
import { SettingsFormView } from './components/SettingsForm.js';
import { StatusLine } from './components/StatusLine.js';
import { Text } from './components/Text.js';
import { useKeyInput } from './keyInput.js';
import { agentLines, withAgentLines } from './panes/agentLines.js';
import { FormDialogView } from './panes/disks/FormDialog.js';
import { GuestsPane } from './panes/GuestsPane.js';
import { usageLines } from './panes/guestTable.js';
import { PANE_VIEWS } from './panes/paneViews.js';
import { MAX_SPARK, trendTitle } from './panes/usageTrend.js';
import { chooseTheme, colorFor, type Theme } from './theme.js';

// The wizards' views are loaded the first time one opens, like their stores (store/onFirstUse.ts).
const ConvertWizardView = lazy(() => import('./wizards/ConvertWizard.js').then((m) => ({ default: m.ConvertWizardView })));
const EvacuateWizardView = lazy(() => import('./wizards/EvacuateWizard.js').then((m) => ({ default: m.EvacuateWizardView })));
const ExpandWizardView = lazy(() => import('./wizards/ExpandWizard.js').then((m) => ({ default: m.ExpandWizardView })));
const ImportVmwareWizardView = lazy(() => import('./wizards/ImportVmwareWizard.js').then((m) => ({ default: m.ImportVmwareWizardView })));
const MergeIdeWizardView = lazy(() => import('./wizards/MergeIdeWizard.js').then((m) => ({ default: m.MergeIdeWizardView })));
const MigrateWizardView = lazy(() => import('./wizards/MigrateWizard.js').then((m) => ({ default: m.MigrateWizardView })));
const NewGuestWizardView = lazy(() => import('./wizards/NewGuestWizard.js').then((m) => ({ default: m.NewGuestWizardView })));
const P2vWizardView = lazy(() => import('./wizards/P2vWizard.js').then((m) => ({ default: m.P2vWizardView })));

/** A view loaded on first use: one line says so until its code is there. */
function Loaded({ children }: { children: ReactNode }) {
  return <Suspense fallback={<Text wrap="truncate">Loading{'\u2026'}</Text>}>{children}</Suspense>;
}

export const MIN_COLUMNS = 80;
export const MIN_ROWS = 24;

export interface AppProps {
  store: AppStore;
  host: HostContext;
  theme?: Theme;
}

export function App({ store, host, theme }: AppProps) {
  return (
    <AppStoreProvider store={store}>
      <ThemeProvider theme={theme ?? chooseTheme(process.env)}>
        <Console host={host} />
      </ThemeProvider>
    </AppStoreProvider>
  );
}

function dialogTitle(d: Dialog): string {
  switch (d.kind) {
    case 'settings':
      // In the all-hosts view a guest of another host says which: two hosts may have the name.
      return `Settings of ${d.guest}${d.host ? ` on ${d.host}` : ''}`;
    case 'help':
      return 'Help';
    case 'wizard':
      return 'New guest';
    default:
      return d.title;
  }
}

/** Every key goes to the store's router: one handler for the whole console. */
function useKeys() {
  const store = useAppStoreApi();
  useKeyInput((key) => store.getState().pressKey(key));
}

function DialogBody({ dialog, width, height }: { dialog: Dialog; width: number; height: number }) {
  switch (dialog.kind) {
    case 'confirm':
      return <ConfirmView dialog={dialog} width={width} height={height} />;
    case 'typeName':
      return <TypeNameView dialog={dialog} width={width} height={height} />;
    case 'error':
      return <ErrorView dialog={dialog} width={width} height={height} />;
    case 'text':
      return <TextView dialog={dialog} width={width} height={height} />;
    case 'help':
      return <HelpView dialog={dialog} width={width} height={height} />;
    case 'diff':
      return <DiffView dialog={dialog} width={width} height={height} />;
    case 'settings':
      return <SettingsFormView dialog={dialog} width={width} height={height} />;
    case 'wizard':
      return null;
    case 'hostPicker':
      return <HostPickerView dialog={dialog} width={width} height={height} />;
    case 'recovery':
      return <RecoveryView dialog={dialog} width={width} height={height} />;
    case 'form':
      return <FormDialogView dialog={dialog} width={width} height={height} />;
  }
}

function Console({ host }: { host: HostContext }) {
  const store = useAppStoreApi();
  const theme = useTheme();
  const { exit } = useInkApp();
  const { stdout } = useStdout();
  const size = useApp((s) => s.size);
  const pane = useApp((s) => s.pane);
  const dialogs = useApp((s) => s.dialogs);
  const versions = useApp((s) => s.versions);
  const accel = useApp((s) => s.accel);
  const quitRequested = useApp((s) => s.quitRequested);
  // Read so a hand-off's bump renders the whole screen again.
  useApp((s) => s.redraw);
  useKeys();

  // No dispose on unmount: a hand-off unmounts Ink while the console keeps running; runTui disposes.
  useEffect(() => {
    store.getState().init();
  }, [store]);

  useEffect(() => {
    if (quitRequested) exit();
  }, [quitRequested, exit]);

  useEffect(() => {
    const onResize = () => {
      if (stdout.columns && stdout.rows) store.getState().setSize({ columns: stdout.columns, rows: stdout.rows });
    };
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  }, [stdout, store]);

  // The frame reads only what lays it out: a refresh changes the parts that read the guests (the
  // meters, the table, the detail strip), each on its own, and an idle one only the clock.
  const hostsShown = useApp((s) => (s.allHosts ? hostsAnswering(s.hostStates) : null));
  const { columns, rows: height } = size;

  if (columns < MIN_COLUMNS || height < MIN_ROWS) {
    return (
      <Box flexDirection="column" width={Math.max(columns, 1)}>
        <Text wrap="wrap">
          Terminal too small: need {MIN_COLUMNS}x{MIN_ROWS}, have {columns}x{height}.
        </Text>
        <Text wrap="wrap">Make the window larger, or press q to quit.</Text>
      </Box>
    );
  }

  const top = dialogs[dialogs.length - 1];
  if (top?.kind === 'wizard' && top.wizard?.which === 'convert') {
    return (
      <Box width={columns} height={height} flexDirection="column">
        <Loaded>
          <ConvertWizardView store={top.wizard.store} theme={theme} />
        </Loaded>
      </Box>
    );
  }
  if (top?.kind === 'wizard' && top.wizard?.which === 'expand') {
    return (
      <Box width={columns} height={height} flexDirection="column">
        <Loaded>
          <ExpandWizardView store={top.wizard.store} theme={theme} />
        </Loaded>
      </Box>
    );
  }
  if (top?.kind === 'wizard' && top.wizard?.which === 'import') {
    return (
      <Box width={columns} height={height} flexDirection="column">
        <Loaded>
          <ImportVmwareWizardView store={top.wizard.store} theme={theme} width={columns} />
        </Loaded>
      </Box>
    );
  }
  if (top?.kind === 'wizard' && top.wizard?.which === 'p2v') {
    return (
      <Box width={columns} height={height} flexDirection="column">
        <Loaded>
          <P2vWizardView store={top.wizard.store} theme={theme} width={columns} />
        </Loaded>
      </Box>
    );
  }
  if (top?.kind === 'wizard' && top.wizard?.which === 'mergeide') {
    return (
      <Box width={columns} height={height} flexDirection="column">
        <Loaded>
          <MergeIdeWizardView store={top.wizard.store} theme={theme} width={columns} />
        </Loaded>
      </Box>
    );
  }
  if (top?.kind === 'wizard' && top.wizard?.which === 'migrate') {
    return (
      <Box width={columns} height={height} flexDirection="column">
        <Loaded>
          <MigrateWizardView store={top.wizard.store} theme={theme} width={columns} />
        </Loaded>
      </Box>
    );
  }
  if (top?.kind === 'wizard' && top.wizard?.which === 'evacuate') {
    return (
      <Box width={columns} height={height} flexDirection="column">
        <Loaded>
          <EvacuateWizardView store={top.wizard.store} theme={theme} width={columns} />
        </Loaded>
      </Box>
    );
  }
  if (top?.kind === 'wizard' && top.wizard?.which === 'newGuest') {
    return (
      <Box width={columns} height={height} flexDirection="column">
        <Loaded>
          <NewGuestWizardView store={top.wizard.store} theme={theme} />
        </Loaded>
      </Box>
    );
  }

  const inner = columns - 4;
  const detailHeight = 3;
  // The host meters take a row of their own only when the terminal has one to spare: 80x24 keeps its
  // table, and a short form of them goes beside the tabs.
  const metersRow = height > MIN_ROWS ? 1 : 0;
  const paneHeight = height - 11 - metersRow;
  const title = headerTitle(theme, host, versions, accel, columns, hostsShown);
  return (
    <Box flexDirection="column" width={columns} height={height}>
      <Rule width={columns} position="top" title={title} />
      <TabsAndMeters columns={columns} metersRow={metersRow} />
      {top ? (
        <>
          <Rule width={columns} position="middle" title={dialogTitle(top)} titleColor={top.kind === 'error' ? colorFor(theme, 'error') : colorFor(theme, 'accent')} />
          <Section width={columns} height={paneHeight + 1 + detailHeight}>
            <DialogBody dialog={top} width={inner} height={paneHeight + 1 + detailHeight} />
          </Section>
        </>
      ) : pane !== 'guests' ? (
        <>
          <Rule width={columns} position="middle" />
          <Section width={columns} height={paneHeight + 1 + detailHeight}>
            {(() => {
              const View = PANE_VIEWS[pane];
              return (
                <Loaded>
                  <View width={inner} height={paneHeight + 1 + detailHeight} />
                </Loaded>
              );
            })()}
          </Section>
        </>
      ) : (
        <>
          <Rule width={columns} position="middle" />
          <Section width={columns} height={paneHeight}>
            <GuestsPane width={inner} height={paneHeight} />
          </Section>
          <GuestDetail columns={columns} height={detailHeight} />
        </>
      )}
      <Rule width={columns} position="middle" />
      <Section width={columns} height={2}>
        <StatusLine width={inner} />
        <Footer width={inner} />
      </Section>
      <Rule width={columns} position="bottom" />
    </Box>
  );
}

/** The tabs, and the host meters beside them or on a row of their own: drawn again when the guests' use or the host's load changes. */
function TabsAndMeters({ columns, metersRow }: { columns: number; metersRow: number }) {
  const theme = useTheme();
  const guests = useApp((s) => s.guests);
  const usage = useApp((s) => s.usage);
  const hostSize = useApp((s) => s.hostSize);
  const hostLoad = useApp((s) => s.hostLoad);
  const inner = columns - 4;
  const meters = useMemo(
    () => metersLayout(hostMeters(guests, usage, hostSize, hostLoad), { row: metersRow > 0, width: inner, charset: theme.ascii ? 'ascii' : 'unicode', separator: theme.symbols.separator }),
    [guests, usage, hostSize, hostLoad, metersRow, inner, theme],
  );
  return (
    <Section width={columns} height={1 + metersRow}>
      <Tabs width={inner} meters={meters.beside} />
      {meters.line !== null ? <MetersLine text={meters.line} /> : null}
    </Section>
  );
}

const MetersLine = memo(function MetersLine({ text }: { text: string }) {
  return <Text wrap="truncate">{text}</Text>;
});

/** Rules whose title is a string: drawn again only when it reads differently. */
const TitledRule = memo(Rule);

const sameLines = (a: readonly string[] | undefined, b: readonly string[] | undefined) => a === b || (a !== undefined && b !== undefined && a.length === b.length && a.every((l, i) => l === b[i]));

/** The selected guest's detail strip, drawn again when its row, its own host's list or the text of its usage lines changed. */
const ShownDetailStrip = memo(DetailStrip, (a, b) => a.guest === b.guest && a.all === b.all && a.width === b.width && a.height === b.height && sameLines(a.usage, b.usage));

/**
 * The selected guest's heading (its name and usage trends) and detail strip. A refresh with new
 * numbers renders this part; the frame, the tabs and the other guests' rows stay as they were.
 */
function GuestDetail({ columns, height }: { columns: number; height: number }) {
  const theme = useTheme();
  const guests = useApp((s) => s.guests);
  const filter = useApp((s) => s.filter);
  const selected = useApp((s) => s.selected);
  const allHosts = useApp((s) => s.allHosts);
  const allGuests = useApp((s) => s.allGuests);
  const allUsage = useApp((s) => s.allUsage);
  const selectedHost = useApp((s) => s.selectedHost);
  const usage = useApp((s) => s.usage);
  const guestAgent = useApp((s) => s.guestAgent);
  // Agent answers are asked of this host's guests only (hostStates lists this host first).
  const hereName = useApp((s) => s.hostStates[0]?.name);
  const listed: ListedGuest[] = allHosts ? allGuests : guests;
  const rows = useMemo(() => filterGuests(listed, filter), [listed, filter]);
  const guest = rows.find((g) => isRow(g, selected, selectedHost)) ?? rows[0] ?? null;
  // The detail strip compares a guest with the others of its own host (MAC clashes are per host).
  const guestHost = guest?.host;
  const sameHost = useMemo(() => (allHosts && guestHost !== undefined ? allGuests.filter((g) => g.host === guestHost) : guests), [allHosts, allGuests, guests, guestHost]);
  const guestUsage = guest ? (allHosts ? allUsage.get(rowKey(guest.host, guest.name)) : usage.get(guest.name)) : undefined;
  const agentHere = !allHosts || guest?.host === hereName;
  const name = guest?.name;
  const charset = theme.ascii ? 'ascii' : 'unicode';
  const separator = theme.symbols.separator;
  // The heading is worked out again when a sample joins the history (usageRound), but this part
  // renders only when its text changed: a flat trend that stays flat draws no frame.
  // biome-ignore lint/correctness/useExhaustiveDependencies: the selected host and the view say which history (read through the store) is shown
  const titleOf = useMemo(() => {
    let last: { round: number; title: string } | null = null;
    return (s: AppState) => {
      if (name === undefined) return '';
      if (last?.round !== s.usageRound) last = { round: s.usageRound, title: trendTitle(name, s.usageHistory(name, MAX_SPARK), columns - 4, charset, separator) };
      return last.title;
    };
  }, [name, selectedHost, allHosts, columns, charset, separator]);
  const title = useApp(titleOf);
  const lines = guest ? withAgentLines(usageLines(guest, guestUsage), agentLines(isActive(guest.state) && agentHere ? guestAgent.get(guest.name) : undefined)) : [];
  return (
    <>
      <TitledRule width={columns} position="middle" title={title} />
      <Section width={columns} height={height}>
        <ShownDetailStrip guest={guest} all={sameHost} width={columns - 4} height={height} usage={lines} />
      </Section>
    </>
  );
}

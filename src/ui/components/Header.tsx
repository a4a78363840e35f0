import { Box } from 'ink';
import type { HostContext } from '../../host/hostContext.js';
import type { HostVersions } from '../../host/virsh.js';
import { useApp } from '../../store/context.js';
import { PANES } from '../../store/paneIds.js';
import type { AccelShown } from '../../store/types.js';
import { useJobsBadge } from '../panes/jobs/useJobsBadge.js';
import { colorFor, type Theme } from '../theme.js';
import { useTheme } from './Frame.js';
import { Text } from './Text.js';

export function accelLabel(accel: AccelShown | null): string {
  if (!accel) return 'accel ?';
  return accel.accel === 'kvm' ? 'KVM' : 'TCG (no KVM)';
}

/**
 * "virtdeck · host1 · qemu:///system · libvirt 9.0.0 · QEMU 7.2.0 · TCG (no KVM)", within `width`
 * columns (the top rule's). The URI's query (?keyfile=…&command=…) is left out, and a URI still too
 * long gives way to its user@host: the libvirt, QEMU and accelerator facts stay on the line.
 */
export function headerTitle(theme: Theme, host: HostContext, versions: HostVersions | null, accel: AccelShown | null, width = Number.POSITIVE_INFINITY, hosts: string | null = null): string {
  const name = versions?.hostname || host.name;
  // "9.0.0" → "9.0": the patch level rarely matters in a header and the line must fit 80 columns.
  const short = (v: string) => v.replace(/(\d+\.\d+)\.\d+/, '$1');
  const facts = [...(versions ? [`libvirt ${short(versions.libvirt)}`, short(versions.hypervisor)] : []), accelLabel(accel)];
  const uri = host.uri.replace(/[?#].*$/, '');
  const authority = uri.match(/^[a-z0-9+]+:\/\/([^/]+)/i)?.[1]?.replace(/:\d+$/, '');
  const where = [uri, ...(authority && authority !== name ? [authority] : []), null];
  // The all-hosts view's "2/3 hosts" comes right after the name: it is what the admin looks for first.
  const titles = where.map((w) => ['virtdeck', name, ...(hosts ? [hosts] : []), ...(w ? [w] : []), ...facts].join(theme.symbols.separator));
  // The rule draws a title in its width less two corners and two spaces.
  return titles.find((t) => t.length <= width - 4) ?? (titles.at(-1) as string);
}

const two = (n: number) => String(n).padStart(2, '0');
const minuteOf = (ms: number) => {
  const d = new Date(ms);
  return `${two(d.getHours())}:${two(d.getMinutes())}`;
};
const secondOf = (ms: number) => `${minuteOf(ms)}:${two(new Date(ms).getSeconds())}`;

/**
 * When the tabs line says the data is from: the minute while it is fresh, like a wall clock (a
 * seconds clock would redraw the console every refresh, for a figure nobody reads), and the second
 * it froze at once it is stale. Null before the first refresh. What the selector returns is what
 * re-renders the line, so an idle refresh within the same minute renders nothing.
 */
export function refreshStamp(lastRefresh: number | null, stale: boolean): string | null {
  if (lastRefresh === null) return null;
  return stale ? secondOf(lastRefresh) : minuteOf(lastRefresh);
}

/**
 * The tabs line's word on the data, longest first: failed, stale (no successful refresh for a few
 * rounds: model/refreshAge.ts), loading, or when it was read. A warning is said in words as well as
 * colour, so NO_COLOR and a Linux VT show it too.
 */
export function refreshStatus(warn: string, o: { stamp: string | null; stale: boolean; failed: boolean }): { full: string; short: string } {
  if (o.failed) return { full: `${warn} refresh failed`, short: `${warn} refresh failed` };
  if (o.stamp === null) return { full: 'loading…', short: 'loading…' };
  if (o.stale) return { full: `${warn} no update since ${o.stamp}`, short: `${warn} stale ${o.stamp}` };
  return { full: `updated ${o.stamp}`, short: o.stamp };
}

/** `meters`: the host meters to squeeze in when they have no row of their own (hostMeters compactMeters), richest first. */
export function Tabs({ width, meters = [] }: { width: number; meters?: string[] }) {
  const theme = useTheme();
  const pane = useApp((s) => s.pane);
  const stale = useApp((s) => s.refreshStale);
  const stamp = useApp((s) => refreshStamp(s.lastRefresh, s.refreshStale));
  const failed = useApp((s) => s.refreshError !== null);
  const { full: fullStatus, short: shortStatus } = refreshStatus(theme.symbols.warn, { stamp, stale, failed });
  const badges = useJobsBadge();
  const titled = (badge: string) => (p: (typeof PANES)[number]) => (p.id === 'jobs' && badge ? `${p.title} (${badge})` : p.title);
  const textOf = (t: (p: (typeof PANES)[number]) => string) => PANES.map((p, i) => `${i + 1} ${t(p)}`).join('   ');
  // The Jobs tab says what runs ("5 Jobs (1 running)") as far as the line has room; the refresh
  // time gives up its "updated" first.
  const fits = ([t, st]: [(p: (typeof PANES)[number]) => string, string]) => textOf(t).length + st.length + 1 <= width;
  // Without a meters row the meters take the refresh time's place (they show the refresh is live);
  // a job's badge still comes first, and a failed or stale refresh says so instead.
  const squeezed = failed || stale || stamp === null ? [] : meters;
  const choices: [(p: (typeof PANES)[number]) => string, string][] = [
    ...[badges.full, badges.short].flatMap((badge) => squeezed.map((m): [(p: (typeof PANES)[number]) => string, string] => [titled(badge), m])),
    [titled(badges.full), fullStatus],
    [titled(badges.short), fullStatus],
    [titled(badges.short), shortStatus],
    [titled(''), fullStatus],
  ];
  const [title, status] = choices.find(fits) ?? [titled(''), fullStatus];
  const tabsText = textOf(title);
  const gap = Math.max(1, width - tabsText.length - status.length);
  return (
    <Box>
      {PANES.map((p, i) => (
        <Text key={p.id} bold={p.id === pane} color={p.id === pane ? colorFor(theme, 'accent') : undefined} inverse={p.id === pane && !theme.color}>
          {i > 0 ? '   ' : ''}
          {i + 1} {title(p)}
        </Text>
      ))}
      <Text>{' '.repeat(gap)}</Text>
      <Text color={colorFor(theme, failed ? 'error' : stale ? 'warn' : 'muted')}>{status}</Text>
    </Box>
  );
}

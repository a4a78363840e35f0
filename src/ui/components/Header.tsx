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

function clock(ms: number): string {
  const d = new Date(ms);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

/** `meters`: the host meters to squeeze in when they have no row of their own (hostMeters compactMeters), richest first. */
export function Tabs({ width, meters = [] }: { width: number; meters?: string[] }) {
  const theme = useTheme();
  const pane = useApp((s) => s.pane);
  const lastRefresh = useApp((s) => s.lastRefresh);
  const refreshError = useApp((s) => s.refreshError);
  const fullStatus = refreshError ? `${theme.symbols.warn} refresh failed` : lastRefresh ? `updated ${clock(lastRefresh)}` : 'loading…';
  const badges = useJobsBadge();
  const titled = (badge: string) => (p: (typeof PANES)[number]) => (p.id === 'jobs' && badge ? `${p.title} (${badge})` : p.title);
  const textOf = (t: (p: (typeof PANES)[number]) => string) => PANES.map((p, i) => `${i + 1} ${t(p)}`).join('   ');
  // The Jobs tab says what runs ("5 Jobs (1 running)") as far as the line has room; the refresh
  // time gives up its "updated" first.
  const shortStatus = lastRefresh && !refreshError ? clock(lastRefresh) : fullStatus;
  const fits = ([t, st]: [(p: (typeof PANES)[number]) => string, string]) => textOf(t).length + st.length + 1 <= width;
  // Without a meters row the meters take the refresh time's place (they show the refresh is live);
  // a job's badge still comes first, and a failed refresh says so instead.
  const squeezed = refreshError || !lastRefresh ? [] : meters;
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
      <Text color={refreshError ? colorFor(theme, 'error') : colorFor(theme, 'muted')}>{status}</Text>
    </Box>
  );
}

/**
 * The Host pane: host checks with status, why and fix; the logs view; the guest picker for QEMU
 * logs. Presentational: state and actions are in store/hostPane.ts; keys are rows of the key table
 * (pane:host, and pane:host-logs / pane:host-pick for the controller's own screens), hinted in the footer.
 */

import { useEffect } from 'react';
import { useStore } from 'zustand';
import { useApp } from '../../store/context.js';
import type { HostPaneController } from '../../store/hostPane.js';
import { Text } from '../components/Text.js';
import { ChecksView } from './host/ChecksView.js';
import { GuestPicker, LogsView, logViewport } from './host/LogsView.js';
import type { PaneViewProps } from './paneViewProps.js';

export function HostPane({ width, height }: PaneViewProps) {
  const controller = useApp((s) => s.panes.host) as HostPaneController | undefined;
  if (!controller) return <Text>The Host pane is not available.</Text>;
  return <HostBody controller={controller} width={width} height={height} />;
}

function HostBody({ controller, width, height }: { controller: HostPaneController } & PaneViewProps) {
  const s = useStore(controller.store);
  const filter = useApp((a) => a.filter);
  useEffect(() => {
    controller.setViewport(logViewport(height));
  }, [controller, height]);
  if (s.screen === 'pickGuest') return <GuestPicker names={s.pick.names} index={s.pick.index} width={width} height={height} />;
  if (s.screen === 'logs' && s.log) return <LogsView log={s.log} search={s.search} searching={s.searching} width={width} height={height} />;
  return <ChecksView state={s} filter={filter} width={width} height={height} />;
}

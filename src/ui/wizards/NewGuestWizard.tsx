/**
 * The New guest wizard, drawn: the store (store/wizards/newGuest) holds the step, the fields, the
 * refusals, the review and the job, and takes the keys; this only shows them. The hint line comes
 * from the key table rows of the scopes on screen.
 */
import { Box } from 'ink';
import Spinner from 'ink-spinner';
import { type ReactNode, useMemo } from 'react';
import { useStore } from 'zustand';
import { firmwareLabel, firmwareOfChoice, firmwareShort } from '../../model/guestFirmware.js';
import { osDefaults } from '../../model/newGuest.js';
import { hintLine } from '../../store/keys/router.js';
import { memoryShown, type NewGuestForm, OS_CHOICES, osChoice, STEP_TITLES, STEPS, type StepId, splitPaths } from '../../store/wizards/newGuest/newGuestForm.js';
import type { NewGuestWizardState, NewGuestWizardStore } from '../../store/wizards/newGuest/newGuestWizard.js';
import { FormView } from '../components/FormView.js';
import { RunSteps } from '../components/RunSteps.js';
import { Text } from '../components/Text.js';
import { ErrorLines, ProblemLines, WizardFrame } from '../components/WizardParts.js';
import { chooseTheme, colorFor, type Theme } from '../theme.js';
import { ReviewStep } from './steps/ReviewStep.js';

export interface NewGuestWizardProps {
  store: NewGuestWizardStore;
  /** Defaults to the one chosen from the environment (ASCII on the Linux console). */
  theme?: Theme;
}

const WIDTH = 80;

export function NewGuestWizardView({ store, theme: themeProp }: NewGuestWizardProps) {
  const theme = useMemo(() => themeProp ?? chooseTheme(process.env), [themeProp]);
  const s = useStore(store);
  const hints = hintLine(s.owner.scopes(), s.owner.hintVars?.());
  const frame = (title: string, children: ReactNode, withHints = true) => (
    <WizardFrame title={title} hostName={s.hostName} hints={withHints ? hints : undefined} width={WIDTH} theme={theme}>
      {children}
    </WizardFrame>
  );
  const name = s.values.name.trim();

  switch (s.phase) {
    case 'loading':
      return frame(
        'New guest',
        <Text>
          {theme.ascii ? '...' : <Spinner />} Reading the host: guests, bridges, networks, memory, KVM…
        </Text>,
        false,
      );
    case 'load-failed':
      return frame('New guest · could not read the host', s.error ? <ErrorLines error={s.error} theme={theme} /> : null);
    case 'running':
      return frame(`New guest · ${s.run?.spec.what ?? `creating ${name}`}`, s.run ? <RunSteps run={s.run} width={WIDTH - 4} theme={theme} /> : null);
    case 'failed':
      return frame(`Could not create ${name}`, s.error ? <ErrorLines error={s.error} theme={theme} /> : null);
    case 'form':
      break;
  }
  if (!s.facts) return null;

  const step = STEPS[s.stepIndex] as StepId;
  const header = `New guest · step ${s.stepIndex + 1} of ${STEPS.length} · ${STEP_TITLES[step]}`;
  const problems = <ProblemLines problems={s.problems} theme={theme} />;

  if (step === 'os') return frame(header, <OsList osIndex={s.osIndex} domainType={s.facts.domainType} theme={theme} />);

  if (step === 'review') {
    const accel = s.facts.domainType === 'kvm' ? 'KVM' : 'TCG (no KVM)';
    const v = s.values;
    const firmware = firmwareShort(firmwareOfChoice(v.firmware, v.tpm === 'yes'));
    return frame(
      header,
      <>
        {s.review?.error ? (
          <ErrorLines error={s.review.error} theme={theme} />
        ) : (
          <ReviewStep
            summary={`${v.name} · ${osChoice(v.os).label}${firmware ? ` · ${firmware}` : ''} · ${memoryShown(v.memory)} · ${v.vcpus} vCPU · ${accel}`}
            steps={s.review?.steps ?? []}
            route={s.route}
            xml={s.review?.xml ?? ''}
            scroll={s.scroll}
            start={v.start}
            openConsole={v.openConsole}
            theme={theme}
          />
        )}
        {problems}
      </>,
    );
  }

  return frame(
    header,
    <>
      <Text> </Text>
      <StepIntro step={step} state={s} theme={theme} />
      <FormView form={s.form} theme={theme} active={!s.checking} />
      <Text> </Text>
      {s.checking ? (
        <Text>
          {theme.ascii ? '...' : <Spinner />} Checking on {s.hostName}…
        </Text>
      ) : null}
      {problems}
    </>,
  );
}

function OsList({ osIndex, domainType, theme }: { osIndex: number; domainType: 'kvm' | 'qemu'; theme: Theme }) {
  const c = OS_CHOICES[osIndex] ?? osChoice('linux');
  const d = osDefaults(c.osType, c.variant, domainType);
  return (
    <>
      {OS_CHOICES.map((o, i) => {
        const on = i === osIndex;
        return (
          <Text key={o.id} color={on ? colorFor(theme, 'accent') : undefined}>
            {on ? theme.symbols.pointer : ' '} {o.label}
          </Text>
        );
      })}
      <Text color={colorFor(theme, 'muted')} wrap="wrap">
        {`Brings: ${d.machine === 'pc' ? 'i440fx' : 'q35'} · ${d.diskBus} disk · ${d.nicModel} NIC · ${d.clock} clock · ${d.memoryMiB} MiB${d.hyperv ? ' · Hyper-V' : ''}`}
      </Text>
      {d.firmware === 'bios' && !d.tpm ? null : (
        <Text color={colorFor(theme, 'muted')} wrap="truncate-end">{`       ${firmwareLabel(firmwareOfChoice(d.firmware, d.tpm))}`}</Text>
      )}
    </>
  );
}

function StepIntro({ step, state, theme }: { step: StepId; state: NewGuestWizardState; theme: Theme }) {
  const { facts } = state;
  const form: NewGuestForm = state.values;
  const muted = colorFor(theme, 'muted');
  if (!facts) return null;
  if (step === 'name') {
    const names = facts.guests.map((g) => g.name);
    return (
      <Text color={muted} wrap="wrap">
        {names.length ? `Guests on this host: ${names.join(', ')}` : 'No guests on this host yet.'}
      </Text>
    );
  }
  if (step === 'resources') {
    return <Text color={muted}>{`This host has ${facts.hostMemoryMiB} MiB of RAM. Guests run with ${facts.domainType === 'kvm' ? 'KVM' : 'TCG emulation (no KVM)'}.`}</Text>;
  }
  if (step === 'storage' && form.installKind === 'existing') {
    return (
      <Box flexDirection="column">
        {splitPaths(form.diskPaths).map((p) => (
          <Text key={p} wrap="wrap">{`${theme.symbols.ok} ${p} (${state.formats?.[p] ?? '?'})`}</Text>
        ))}
      </Box>
    );
  }
  if (step === 'network') {
    return (
      <Text color={muted} wrap="wrap">
        Keep a moved guest's old MAC, or Windows sets up a new NIC and loses its address.
      </Text>
    );
  }
  return null;
}

import { Box } from 'ink';
import SelectInput from 'ink-select-input';
import Spinner from 'ink-spinner';
import { type ReactNode, useEffect, useMemo, useRef, useState } from 'react';
import { type HostError, toHostError } from '../../host/errors.js';
import type { HostContext } from '../../host/hostContext.js';
import {
  checkNewGuest,
  domainXmlFile,
  gatherHostFacts,
  type HostFacts,
  type NewGuestProgress,
  NewGuestRefused,
  runNewGuest,
  type StepState,
} from '../../jobs/newGuest.js';
import { randomMac } from '../../model/mac.js';
import { buildDomainXml, defaultDiskPath, osDefaults, planNewGuest, type SpecProblem } from '../../model/newGuest.js';
import { UserError } from '../../model/userError.js';
import { CancelQuestion, cancelHints } from '../components/JobSteps.js';
import { Text } from '../components/Text.js';
import { ErrorLines, ProblemLines, WizardFrame } from '../components/WizardParts.js';
import { chooseTheme, colorFor, type Theme } from '../theme.js';
import { type Field, FieldList } from './steps/FieldList.js';
import {
  applyInstallKind,
  applyOsDefaults,
  formToSpec,
  HOST_CHECKED_STEPS,
  initialForm,
  type NewGuestForm,
  netSources,
  OS_CHOICES,
  osChoice,
  problemsForStep,
  STEP_TITLES,
  STEPS,
  type StepId,
  splitPaths,
} from './steps/newGuestForm.js';
import { ReviewStep, XML_ROWS } from './steps/ReviewStep.js';
import { useWizardKeys } from './useWizardKeys.js';
import { useWizardSteps } from './useWizardSteps.js';
import { askToCancel, type WizardScreen } from './wizardKeys.js';

export interface NewGuestWizardProps {
  host: HostContext;
  /** Called with the new guest's name after define (and optional start), or null when cancelled. */
  onClose: (defined: string | null, opts?: { openConsole?: boolean }) => void;
  /** Defaults to the one chosen from the environment (ASCII on the Linux console). */
  theme?: Theme;
}

type Phase =
  | { kind: 'loading' }
  | { kind: 'load-failed'; error: HostError }
  | { kind: 'form' }
  | { kind: 'running'; progress: Map<number, { state: StepState; title: string }> }
  | { kind: 'failed'; error: HostError | UserError };

export function NewGuestWizard({ host, onClose, theme: themeProp }: NewGuestWizardProps) {
  const theme = useMemo(() => themeProp ?? chooseTheme(process.env), [themeProp]);
  const [phase, setPhase] = useState<Phase>({ kind: 'loading' });
  const [facts, setFacts] = useState<HostFacts | null>(null);
  const [form, setForm] = useState<NewGuestForm>(() => initialForm(null));
  const { stepIndex, goTo, focus, setFocus, problems, setProblems, scroll, setScroll } = useWizardSteps<SpecProblem>();
  const [checking, setChecking] = useState(false);
  const [formats, setFormats] = useState<Record<string, string> | undefined>(undefined);
  const [highlightedOs, setHighlightedOs] = useState(form.os);
  const [asking, setAsking] = useState(false);
  const abort = useRef<AbortController | null>(null);
  const step = STEPS[stepIndex] as StepId;
  // Key handlers are re-subscribed in an effect after each frame; a key arriving in between must
  // still act on what is on screen, so submit and run read the form from here.
  const latest = useRef(form);
  latest.current = form;

  const load = () => {
    setPhase({ kind: 'loading' });
    gatherHostFacts(host).then(
      (f) => {
        setFacts(f);
        setForm((old) => ({ ...initialForm(f), name: old.name }));
        setPhase({ kind: 'form' });
      },
      (e: unknown) => setPhase({ kind: 'load-failed', error: toHostError(e) }),
    );
  };
  // biome-ignore lint/correctness/useExhaustiveDependencies: read the host once when the wizard opens.
  useEffect(() => {
    load();
    return () => abort.current?.abort();
  }, []);

  const update = (patch: Partial<NewGuestForm>) => setForm((f) => ({ ...f, ...patch }));
  const enterStep = (i: number) => {
    const form = latest.current;
    const next = STEPS[i];
    // The disk path follows the name until the admin edits it.
    if (next === 'storage' && !form.diskPath) update({ diskPath: defaultDiskPath(form.name.trim(), form.diskFormat) });
    goTo(i);
  };

  const submitStep = async () => {
    const form = latest.current;
    if (!facts || checking) return;
    let found = problemsForStep(step, form, facts, formats);
    if (found.length === 0 && HOST_CHECKED_STEPS.includes(step)) {
      setChecking(true);
      try {
        const check = await checkNewGuest(host, formToSpec(form, facts.domainType).spec, facts);
        found = check.problems.filter((p) => p.field === step);
        if (check.spec.install.kind === 'existing') setFormats(check.spec.install.formats);
      } catch (e) {
        const err = toHostError(e);
        setProblems([]);
        setPhase({ kind: 'failed', error: err });
        return;
      } finally {
        setChecking(false);
      }
    }
    if (found.length > 0) {
      setProblems(found);
      return;
    }
    enterStep(stepIndex + 1);
  };

  const run = () => {
    const form = latest.current;
    if (!facts) return;
    const { spec } = formToSpec(form, facts.domainType, formats);
    const controller = new AbortController();
    abort.current = controller;
    const progress = new Map<number, { state: StepState; title: string }>();
    setAsking(false);
    setPhase({ kind: 'running', progress: new Map(progress) });
    const onProgress = (p: NewGuestProgress) => {
      progress.set(p.index, { state: p.state, title: p.title });
      setPhase({ kind: 'running', progress: new Map(progress) });
    };
    runNewGuest(host, spec, { start: form.start, onProgress, signal: controller.signal }).then(
      (r) => onClose(r.name, { openConsole: form.start && form.openConsole }),
      (e: unknown) => {
        if (e instanceof NewGuestRefused) {
          // Something changed on the host since the step was checked: send the admin back there.
          const first = e.problems[0];
          const target = first ? STEPS.indexOf(first.field as StepId) : STEPS.length - 1;
          setPhase({ kind: 'form' });
          goTo(target < 0 ? STEPS.length - 1 : target);
          setProblems(e.problems.filter((p) => p.field === first?.field));
          return;
        }
        setPhase({ kind: 'failed', error: e instanceof UserError ? e : toHostError(e) });
      },
    );
  };

  const reviewData = useMemo(() => {
    if (!facts || step !== 'review') return null;
    try {
      const { spec } = formToSpec(form, facts.domainType, formats);
      return { steps: planNewGuest(spec, { uri: host.uri, start: form.start, xmlFile: domainXmlFile(spec.name) }).steps, xml: buildDomainXml(spec), error: null };
    } catch (e) {
      return { steps: [], xml: '', error: e instanceof UserError ? e : toHostError(e) };
    }
  }, [facts, form, formats, step, host.uri]);

  const keys: WizardScreen =
    phase.kind === 'running'
      ? askToCancel(asking, setAsking, () => abort.current?.abort())
      : phase.kind === 'form'
        ? {
            kind: 'step',
            first: stepIndex === 0,
            back: () => goTo(stepIndex - 1),
            review:
              step === 'review' && reviewData
                ? {
                    scroll: { max: Math.max(0, reviewData.xml.split('\n').length - 1 - XML_ROWS), page: XML_ROWS, set: setScroll },
                    run: reviewData.error ? undefined : run,
                    quit: true,
                  }
                : undefined,
          }
        : { kind: 'own' };
  const noTextFocused = phase.kind !== 'form' || step === 'os' || step === 'review';
  useWizardKeys({
    screen: keys,
    cancel: () => onClose(null),
    onKey: (input, key) => {
      if (input === 'q' && noTextFocused) onClose(null);
      else if (phase.kind === 'load-failed') {
        if (input === 'r') load();
        else if (key.escape) onClose(null);
      } else if (phase.kind === 'failed') {
        if (key.escape) setPhase({ kind: 'form' });
      } else if (step === 'review' && input === 's') update({ start: !form.start });
      else if (step === 'review' && input === 'c' && form.start) update({ openConsole: !form.openConsole });
    },
  });

  const width = 80;
  const frame = (title: string, children: ReactNode, hints?: string) => (
    <WizardFrame title={title} hostName={host.name} hints={hints} width={width} theme={theme}>
      {children}
    </WizardFrame>
  );

  if (phase.kind === 'loading') {
    return frame(
      'New guest',
      <Text>
        {theme.ascii ? '...' : <Spinner />} Reading the host: guests, bridges, networks, memory, KVM…
      </Text>,
    );
  }
  if (phase.kind === 'load-failed') {
    return frame('New guest · could not read the host', <ErrorLines error={phase.error} theme={theme} />, 'r retry   Esc/q close');
  }
  if (phase.kind === 'running' || phase.kind === 'failed') {
    const { spec } = formToSpec(form, facts?.domainType ?? 'qemu', formats);
    const planned = planNewGuest(spec, { uri: host.uri, start: form.start, xmlFile: domainXmlFile(spec.name) }).steps;
    const progress = phase.kind === 'running' ? phase.progress : new Map();
    return frame(
      phase.kind === 'running' ? `New guest · creating ${spec.name}` : `Could not create ${spec.name}`,
      <>
        {phase.kind === 'running'
          ? planned.map((s, i) => {
              const p = progress.get(i);
              const mark = !p ? ' ' : p.state === 'done' ? theme.symbols.ok : p.state === 'undone' ? (theme.ascii ? '[undone]' : '↶') : p.state === 'failed' ? theme.symbols.error : null;
              return (
                <Text key={s.id} wrap="truncate-end">
                  {mark === null ? theme.ascii ? '*' : <Spinner /> : mark} {i + 1} {p?.title ?? s.title}
                </Text>
              );
            })
          : null}
        {phase.kind === 'failed' ? <ErrorLines error={phase.error} theme={theme} /> : null}
        {phase.kind === 'running' && asking ? (
          <CancelQuestion
            question={`Cancel creating ${spec.name}? Finished steps are undone (${spec.newDisk ? 'the new disk removed, ' : ''}the guest undefined); existing disks and ISOs are not touched.`}
            theme={theme}
          />
        ) : null}
      </>,
      phase.kind === 'running' ? cancelHints(asking, `cancel creating ${spec.name}`) : 'Esc back to the review   q close',
    );
  }

  // phase: form
  if (!facts) return null;
  const header = `New guest · step ${stepIndex + 1} of ${STEPS.length} · ${STEP_TITLES[step]}`;
  const problemLines = <ProblemLines problems={problems} theme={theme} />;
  const stepHints = step === 'review'
    ? 'Enter define   s/c options   Esc back   q cancel'
    : step === 'os'
      ? '↑↓ choose   Enter next   Esc back   q cancel'
      : 'Enter next   ↑↓/Tab field   ←→ choose   Esc back   Ctrl-C cancel';

  if (step === 'os') {
    const c = osChoice(highlightedOs);
    const d = osDefaults(c.osType, c.variant, facts.domainType);
    return frame(
      header,
      <>
        <SelectInput
          items={OS_CHOICES.map((o) => ({ key: o.id, label: o.label, value: o.id }))}
          initialIndex={Math.max(0, OS_CHOICES.findIndex((o) => o.id === form.os))}
          onHighlight={(item) => setHighlightedOs(item.value)}
          onSelect={(item) => {
            setForm((f) => applyOsDefaults(f, item.value));
            goTo(stepIndex + 1);
          }}
        />
        <Text color={colorFor(theme, 'muted')} wrap="truncate-end">
          {`Brings: ${d.machine === 'pc' ? 'i440fx' : 'q35'} · ${d.diskBus} disk · ${d.nicModel} NIC · ${d.clock} clock · ${d.memoryMiB} MiB${d.hyperv ? ' · Hyper-V' : ''}`}
        </Text>
      </>,
      stepHints,
    );
  }

  if (step === 'review') {
    const c = osChoice(form.os);
    const accel = facts.domainType === 'kvm' ? 'KVM' : 'TCG (no KVM)';
    return frame(
      header,
      <>
        {reviewData?.error ? (
          <ErrorLines error={reviewData.error} theme={theme} />
        ) : (
          <ReviewStep
            summary={`${form.name} · ${c.label} · ${form.memory} MiB · ${form.vcpus} vCPU · ${accel}`}
            steps={reviewData?.steps ?? []}
            xml={reviewData?.xml ?? ''}
            scroll={scroll}
            start={form.start}
            openConsole={form.openConsole}
            theme={theme}
          />
        )}
        {problemLines}
      </>,
      stepHints,
    );
  }

  const fields = fieldsFor(step, form, facts, update);
  return frame(
    header,
    <>
      <Text> </Text>
      <StepIntro step={step} form={form} facts={facts} formats={formats} theme={theme} />
      <FieldList fields={fields} focus={focus} onFocus={setFocus} onSubmit={() => void submitStep()} theme={theme} active={!checking} />
      <Text> </Text>
      {checking ? (
        <Text>
          {theme.ascii ? '...' : <Spinner />} Checking on {host.name}…
        </Text>
      ) : null}
      {problemLines}
    </>,
    stepHints,
  );
}

function StepIntro(props: { step: StepId; form: NewGuestForm; facts: HostFacts; formats?: Record<string, string>; theme: Theme }) {
  const { step, form, facts, theme } = props;
  const muted = colorFor(theme, 'muted');
  if (step === 'name') {
    const names = facts.guests.map((g) => g.name);
    return <Text color={muted} wrap="truncate-end">{names.length ? `Guests on this host: ${names.join(', ')}` : 'No guests on this host yet.'}</Text>;
  }
  if (step === 'resources') {
    return <Text color={muted}>{`This host has ${facts.hostMemoryMiB} MiB of RAM. Guests run with ${facts.domainType === 'kvm' ? 'KVM' : 'TCG emulation (no KVM)'}.`}</Text>;
  }
  if (step === 'storage' && form.installKind === 'existing') {
    return (
      <Box flexDirection="column">
        {splitPaths(form.diskPaths).map((p) => (
          <Text key={p} wrap="truncate-middle">{`${theme.symbols.ok} ${p} (${props.formats?.[p] ?? '?'})`}</Text>
        ))}
      </Box>
    );
  }
  if (step === 'network') {
    return <Text color={muted} wrap="truncate-end">Keep a moved guest's old MAC, or Windows sets up a new NIC and loses its address.</Text>;
  }
  return null;
}

function fieldsFor(step: StepId, form: NewGuestForm, facts: HostFacts, update: (p: Partial<NewGuestForm>) => void): Field[] {
  const text = (key: keyof NewGuestForm, label: string, hint?: string, placeholder?: string): Field => ({
    kind: 'text', key, label, hint, placeholder, value: String(form[key]), onChange: (v) => update({ [key]: v } as Partial<NewGuestForm>),
  });
  const yesNo = [{ value: 'yes', label: 'yes' }, { value: 'no', label: 'no' }];
  switch (step) {
    case 'name':
      return [text('name', 'Name', 'letters, digits . _ -')];
    case 'resources':
      return [text('memory', 'Memory', 'MiB, or with a unit: 2G'), text('vcpus', 'vCPUs')];
    case 'install': {
      const kind: Field = {
        kind: 'choice', key: 'installKind', label: 'Install from', value: form.installKind,
        options: [
          { value: 'iso', label: 'an ISO image (installer CD/DVD)' },
          { value: 'existing', label: 'I have a disk image with an installed system' },
          { value: 'none', label: 'nothing (empty disk; install later or by PXE)' },
        ],
        onChange: (v) => update(applyInstallKind(form, v as NewGuestForm['installKind'])),
      };
      if (form.installKind === 'iso') return [kind, text('isoPath', 'ISO image', '', '/var/lib/libvirt/images/debian-12.iso')];
      if (form.installKind === 'existing') return [kind, text('diskPaths', 'Disk images', 'comma between several', '/var/lib/libvirt/images/old.qcow2')];
      return [kind];
    }
    case 'storage': {
      const add: Field = { kind: 'choice', key: 'newDisk', label: 'New disk', value: form.newDisk, options: yesNo, onChange: (v) => update({ newDisk: v as 'yes' | 'no' }) };
      if (form.newDisk === 'no') return [add];
      return [
        add,
        {
          kind: 'choice', key: 'diskFormat', label: 'Format', value: form.diskFormat,
          options: [{ value: 'qcow2', label: 'qcow2 (snapshots, thin)' }, { value: 'raw', label: 'raw (fastest, no snapshots)' }],
          onChange: (v) => {
            const format = v as NewGuestForm['diskFormat'];
            // Keep the extension in step with the format while the path is still the default.
            const wasDefault = form.diskPath === defaultDiskPath(form.name.trim(), form.diskFormat);
            update({ diskFormat: format, ...(wasDefault ? { diskPath: defaultDiskPath(form.name.trim(), format) } : {}) });
          },
        },
        text('diskSize', 'Size', 'e.g. 20G'),
        text('diskPath', 'Location'),
      ];
    }
    case 'network': {
      const sources = netSources(form, facts);
      const fields: Field[] = [
        {
          kind: 'choice', key: 'netKind', label: 'Connect to', value: form.netKind,
          options: [
            { value: 'bridge', label: 'a host bridge (guest on the LAN)' },
            { value: 'network', label: 'a libvirt network' },
            { value: 'user', label: 'user-mode NAT (no setup, no inbound)' },
          ],
          onChange: (v) => {
            const netKind = v as NewGuestForm['netKind'];
            const first = netSources({ ...form, netKind }, facts)[0] ?? '';
            update({ netKind, netSource: first });
          },
        },
      ];
      if (form.netKind !== 'user') {
        fields.push({
          kind: 'choice', key: 'netSource', label: form.netKind === 'bridge' ? 'Bridge' : 'Network', value: form.netSource,
          options: sources.map((s) => ({ value: s, label: s })), onChange: (v) => update({ netSource: v }),
        });
      }
      fields.push(
        {
          kind: 'choice', key: 'macStyle', label: 'MAC style', value: form.macStyle,
          options: [{ value: 'kvm', label: 'KVM 52:54:00' }, { value: 'vmware', label: 'VMware 00:50:56' }],
          onChange: (v) => update({ macStyle: v as 'kvm' | 'vmware', mac: randomMac(v as 'kvm' | 'vmware') }),
        },
        text('mac', 'MAC', 'generated; type the old one to keep it'),
        {
          kind: 'choice', key: 'nicModel', label: 'NIC model', value: form.nicModel,
          options: [
            { value: 'default', label: `default for the OS (${osDefaults(osChoice(form.os).osType, osChoice(form.os).variant).nicModel})` },
            { value: 'virtio', label: 'virtio' },
            { value: 'e1000', label: 'e1000' },
            { value: 'e1000e', label: 'e1000e' },
            { value: 'rtl8139', label: 'rtl8139' },
          ],
          onChange: (v) => update({ nicModel: v as NewGuestForm['nicModel'] }),
        },
      );
      return fields;
    }
    case 'display': {
      const fields: Field[] = [
        {
          kind: 'choice', key: 'vnc', label: 'VNC screen', value: form.vnc,
          options: [{ value: 'auto', label: 'yes, port chosen at start' }, { value: 'port', label: 'yes, on a fixed port' }, { value: 'none', label: 'no screen' }],
          onChange: (v) => update({ vnc: v as NewGuestForm['vnc'] }),
        },
      ];
      if (form.vnc === 'port') fields.push(text('vncPort', 'VNC port', '5900 + display number'));
      if (form.vnc !== 'none') fields.push(text('listen', 'Listen on', '127.0.0.1: via SSH tunnel only'));
      fields.push({ kind: 'choice', key: 'serial', label: 'Serial console', value: form.serial, options: yesNo, onChange: (v) => update({ serial: v as 'yes' | 'no' }) });
      return fields;
    }
    default:
      return [];
  }
}

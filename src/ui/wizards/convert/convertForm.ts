/**
 * The convert wizard's form, pure: its steps, the values on each, and the ConvertInput they make.
 * Kept apart from the component so the mapping is testable without a terminal.
 */
import type { ConvertInput } from '../../../jobs/convert.js';
import { type ConvertSource, customTarget, defaultDest, PRESETS, presetById } from '../../../model/convertPlan.js';
import type { DiskBus } from '../../../model/domainXml.js';

export const CONVERT_STEPS = ['disk', 'target', 'dest', 'options', 'review'] as const;
export type ConvertStepId = (typeof CONVERT_STEPS)[number];

export const CONVERT_STEP_TITLES: Record<ConvertStepId, string> = {
  disk: 'disk',
  target: 'target format',
  dest: 'destination',
  options: 'guest and original',
  review: 'review',
};

export interface ConvertForm {
  source: string;
  preset: string;
  customFormat: string;
  customOptions: string;
  dest: string;
  /** True once the admin typed a destination: it then no longer follows the preset. */
  destEdited: boolean;
  repoint: 'yes' | 'no';
  bus: 'keep' | DiskBus;
  keepOriginal: 'yes' | 'no';
}

export function initialConvertForm(source: string): ConvertForm {
  return { source, preset: 'vmware-growable', customFormat: 'vmdk', customOptions: '', dest: '', destEdited: false, repoint: 'no', bus: 'keep', keepOriginal: 'yes' };
}

export const PRESET_CHOICES = [...PRESETS.map((p) => ({ value: p.id, label: p.label })), { value: 'custom', label: 'custom: a format and -o options' }];
export const BUS_CHOICES = ['keep', 'virtio', 'sata', 'scsi', 'ide'].map((b) => ({ value: b, label: b === 'keep' ? 'keep the current bus' : b }));

/** The chosen target (UserError for an unknown custom format or option). */
export function formTarget(form: ConvertForm) {
  return form.preset === 'custom' ? customTarget(form.customFormat.trim(), form.customOptions) : structuredClone(presetById(form.preset).target);
}

/** The destination shown: the typed one, else the default beside the source. */
export function formDest(form: ConvertForm): string {
  if (form.destEdited && form.dest.trim()) return form.dest.trim();
  try {
    return defaultDest(form.source.trim(), formTarget(form));
  } catch {
    return '';
  }
}

export function formToInput(form: ConvertForm, source: ConvertSource | null, upTo: ConvertStepId): ConvertInput {
  const at = CONVERT_STEPS.indexOf(upTo);
  const withOptions = at >= CONVERT_STEPS.indexOf('options');
  const user = source?.users[0];
  return {
    source: form.source.trim(),
    target: formTarget(form),
    dest: formDest(form),
    repoint: withOptions && form.repoint === 'yes' && user ? { guest: user.guest, bus: form.bus === 'keep' ? undefined : form.bus } : undefined,
    keepOriginal: withOptions ? form.keepOriginal === 'yes' : true,
  };
}

/** The step a refusal belongs to, so it is shown where it can be fixed. */
export function stepOfRefusal(sentence: string): ConvertStepId {
  if (/does not exist or cannot be read|not shut off|backing/.test(sentence)) return 'disk';
  if (/nothing to convert|not an option|cannot convert/.test(sentence)) return 'target';
  if (/still use|repoint|has no disk|is not the file|q35|bus/.test(sentence)) return 'options';
  return 'dest';
}

/**
 * The convert wizard's values, pure: its steps, the Form each step shows, the ConvertInput the
 * values make, and the step and field a refusal belongs to (from the refusal's own field, never
 * from its wording).
 */
import type { ConvertInput } from '../../../jobs/convert.js';
import { type ConvertField, ConvertRefusal, type ConvertSource, customTarget, defaultDest, PRESETS, presetById } from '../../../model/convertPlan.js';
import type { DiskBus } from '../../../model/domainXml.js';
import { type Field, type Form, fieldValue, formValues, makeForm } from '../../form.js';

export const CONVERT_STEPS = ['disk', 'target', 'dest', 'options', 'review'] as const;
export type ConvertStepId = (typeof CONVERT_STEPS)[number];

export const CONVERT_STEP_TITLES: Record<ConvertStepId, string> = {
  disk: 'disk',
  target: 'target format',
  dest: 'destination',
  options: 'guest and original',
  review: 'review',
};

export interface ConvertValues {
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

export function initialConvertValues(source: string): ConvertValues {
  return { source, preset: 'vmware-growable', customFormat: 'vmdk', customOptions: '', dest: '', destEdited: false, repoint: 'no', bus: 'keep', keepOriginal: 'yes' };
}

export const PRESET_CHOICES = [...PRESETS.map((p) => ({ value: p.id, label: p.label })), { value: 'custom', label: 'custom: a format and -o options' }];
export const BUS_CHOICES = ['keep', 'virtio', 'sata', 'scsi', 'ide'].map((b) => ({ value: b, label: b === 'keep' ? 'keep the current bus' : b }));
const YES_NO = [
  { value: 'yes', label: 'yes' },
  { value: 'no', label: 'no' },
];

/** The chosen target (a ConvertRefusal naming the format or options field when they are wrong). */
export function formTarget(values: ConvertValues) {
  return values.preset === 'custom' ? customTarget(values.customFormat.trim(), values.customOptions) : structuredClone(presetById(values.preset).target);
}

/** The destination used: the typed one, else the default beside the source. */
export function formDest(values: ConvertValues): string {
  if (values.destEdited && values.dest.trim()) return values.dest.trim();
  try {
    return defaultDest(values.source.trim(), formTarget(values));
  } catch {
    return '';
  }
}

export function formToInput(values: ConvertValues, source: ConvertSource | null, upTo: ConvertStepId): ConvertInput {
  const at = CONVERT_STEPS.indexOf(upTo);
  const withOptions = at >= CONVERT_STEPS.indexOf('options');
  const user = source?.users[0];
  return {
    source: values.source.trim(),
    target: formTarget(values),
    dest: formDest(values),
    repoint: withOptions && values.repoint === 'yes' && user ? { guest: user.guest, bus: values.bus === 'keep' ? undefined : values.bus } : undefined,
    keepOriginal: withOptions ? values.keepOriginal === 'yes' : true,
  };
}

/** The fields of a step, filled from the values; `users`: guests that use the source (repoint is offered only then). */
export function stepForm(step: ConvertStepId, values: ConvertValues, users: number): Form {
  const fields: Field[] = [];
  if (step === 'disk') fields.push({ id: 'source', label: 'Image', kind: 'text', value: values.source });
  if (step === 'target') {
    fields.push(
      { id: 'preset', label: 'Convert to', kind: 'choice', value: values.preset, options: PRESET_CHOICES },
      { id: 'customFormat', label: 'Format', kind: 'text', value: values.customFormat, hint: 'raw qcow2 vmdk vdi vhdx vpc', showWhen: { field: 'preset', value: 'custom' } },
      { id: 'customOptions', label: 'Options (-o)', kind: 'text', value: values.customOptions, hint: 'key=value,…', showWhen: { field: 'preset', value: 'custom' } },
    );
  }
  if (step === 'dest') fields.push({ id: 'dest', label: 'Destination', kind: 'text', value: values.destEdited ? values.dest : formDest(values) });
  if (step === 'options') {
    if (users > 0) {
      fields.push(
        { id: 'repoint', label: 'Repoint guest', kind: 'choice', value: values.repoint, options: YES_NO, hint: 'use the new image from now on' },
        { id: 'bus', label: 'Disk bus', kind: 'choice', value: values.bus, options: BUS_CHOICES, showWhen: { field: 'repoint', value: 'yes' } },
      );
    }
    fields.push({ id: 'keepOriginal', label: 'Keep original', kind: 'choice', value: values.keepOriginal, options: YES_NO, hint: 'no: removed as the very last step' });
  }
  return makeForm(fields);
}

/** The values after the step's form changed. A destination that differs from the default is the admin's from then on. */
export function readStepForm(values: ConvertValues, step: ConvertStepId, form: Form): ConvertValues {
  if (step === 'dest') {
    const typed = fieldValue(form, 'dest');
    return values.destEdited || typed !== formDest(values) ? { ...values, dest: typed, destEdited: true } : values;
  }
  const v = formValues(form);
  return { ...values, ...v } as ConvertValues;
}

/** Where each field of a conversion is set in the wizard. */
const FIELD_AT: Record<ConvertField, { step: ConvertStepId; field: string }> = {
  source: { step: 'disk', field: 'source' },
  target: { step: 'target', field: 'preset' },
  format: { step: 'target', field: 'customFormat' },
  options: { step: 'target', field: 'customOptions' },
  dest: { step: 'dest', field: 'dest' },
  repoint: { step: 'options', field: 'repoint' },
  keepOriginal: { step: 'options', field: 'keepOriginal' },
};

/** The step and form field a refusal belongs to; a failure that is no refusal belongs to the step shown. */
export function refusalPlace(e: unknown, shown: ConvertStepId): { step: ConvertStepId; field?: string } {
  return e instanceof ConvertRefusal ? FIELD_AT[e.field] : { step: shown };
}

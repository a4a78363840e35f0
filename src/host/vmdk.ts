import { UserError } from '../model/userError.js';
import { parseSparseHeader, parseVmdkDescriptor, SPARSE_HEADER_BYTES, type VmdkDescriptor } from '../model/vmdkDescriptor.js';
import type { Executor } from './exec.js';

/**
 * Reads a vmdk's descriptor on the executor's host: from a text descriptor file, or from the block
 * embedded in a monolithic sparse / streamOptimized file. Bytes come back as hex from `od`, since
 * the executor carries text and the header is binary.
 */

/** Descriptors are a few hundred bytes; anything far larger is a data file, not a descriptor. */
const MAX_DESCRIPTOR_BYTES = 1024 * 1024;

export function hexDumpToBytes(od: string): Uint8Array {
  const hex = od.match(/[0-9a-f]{2}/gi) ?? [];
  return Uint8Array.from(hex.map((h) => Number.parseInt(h, 16)));
}

export async function readVmdkDescriptorText(exec: Executor, path: string): Promise<string> {
  const head = await exec.run(['od', '-A', 'n', '-t', 'x1', '-v', '-N', String(SPARSE_HEADER_BYTES), '--', path]);
  const header = parseSparseHeader(hexDumpToBytes(head.stdout));
  if (header) {
    if (header.descriptorOffset === 0 || header.descriptorSectors === 0) {
      throw new UserError(
        `${path} is one extent of a split vmdk and holds no descriptor.`,
        'Open the small .vmdk descriptor file that lists this extent instead.',
      );
    }
    if (header.descriptorSectors * 512 > MAX_DESCRIPTOR_BYTES) {
      throw new UserError(`${path} claims a descriptor of ${header.descriptorSectors} sectors, which is not plausible.`, 'The file is damaged; check it with qemu-img check.');
    }
    const r = await exec.run([
      'dd',
      `if=${path}`,
      'bs=512',
      `skip=${header.descriptorOffset}`,
      `count=${header.descriptorSectors}`,
      'status=none',
    ]);
    return r.stdout.replace(/\0+/g, '');
  }
  const r = await exec.run(['head', '-c', String(MAX_DESCRIPTOR_BYTES), '--', path]);
  if (!r.stdout.includes('createType')) {
    throw new UserError(
      `${path} is neither a vmdk descriptor nor a sparse vmdk.`,
      'Point at the .vmdk file VMware lists in the .vmx (not its -flat or -s001 data file).',
    );
  }
  return r.stdout;
}

export async function readVmdkDescriptor(exec: Executor, path: string): Promise<VmdkDescriptor> {
  return parseVmdkDescriptor(await readVmdkDescriptorText(exec, path));
}

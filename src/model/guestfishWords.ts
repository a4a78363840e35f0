/**
 * Composing guestfish script lines from words that may come from inside an image.
 *
 * In a guestfish script a line starting with `!` and any unquoted word starting with `|` run a
 * host shell command, `<!` reads a command's output back as more script, an unquoted `~` is
 * expanded and whitespace splits words. libguestfs says every string returned by inspection is
 * hostile (guestfs(3) SECURITY), and file, volume and subvolume names are chosen by the guest's
 * root. So a word that came from anywhere but virtdeck reaches guestfish only through gfWord:
 * double-quoted, with every byte outside printable ASCII, and `"` and `\`, written as a
 * backslash escape (guestfish(1) QUOTING), which leaves nothing in the line that guestfish reads
 * as syntax. A NUL cannot be written at all (guestfish ends strings there): refused.
 */
import { UserError } from './userError.js';

const hex = (n: number) => `\\x${n.toString(16).padStart(2, '0')}`;

/** One guestfish word that guestfish reads back as exactly `text`, as pure printable ASCII. */
export function gfWord(text: string): string {
  if (text.includes('\0')) {
    throw new UserError(
      `A name from the image contains a NUL byte, which guestfish cannot be given: ${JSON.stringify(text.slice(0, 80))}.`,
      'Nothing was run; this name cannot be handled by virtdeck (look at the image with guestfish by hand).',
    );
  }
  let out = '"';
  for (const byte of Buffer.from(text, 'utf8')) {
    if (byte === 0x22) out += '\\"';
    else if (byte === 0x5c) out += '\\\\';
    else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte);
    else out += hex(byte);
  }
  return `${out}"`;
}

const COMMAND = /^-?[a-z][a-z0-9-]*$/;

/**
 * One script line: a guestfish command virtdeck chose (optionally with the `-` prefix that lets
 * it fail without ending the run) and its arguments, each quoted by gfWord.
 */
export function gfLine(command: string, ...args: string[]): string {
  if (!COMMAND.test(command)) throw new Error(`gfLine: "${command}" is not a guestfish command name`);
  return [command, ...args.map(gfWord)].join(' ');
}

/** A whole script: one gfLine per command, newline-terminated. */
export function gfScript(commands: string[][]): string {
  return commands.map(([command, ...args]) => `${gfLine(command as string, ...args)}\n`).join('');
}

/**
 * Words given to guestfish on its command line (`guestfish -a IMG -- cmd args : cmd args`) are
 * not parsed as script, but a word that is exactly `:` starts the next command there, and one
 * starting with `-` in a command's place is read as the fail-allowed prefix. A device or path
 * from the image is refused if it could be either.
 */
export function gfArgvWordProblem(word: string): string | null {
  if (word === ':') return 'it is ":", which guestfish reads as the start of another command';
  if (word.includes('\0')) return 'it contains a NUL byte';
  return null;
}

/**
 * Device names virtdeck passes to a grow: the appliance's own disks and partitions, and LVM's
 * /dev/VG/LV, whose names LVM limits to letters, digits and `+_.-` (not starting with `-`).
 * Anything else was not written by LVM's own tools and is refused rather than passed on.
 */
const APPLIANCE_DEVICE = /^\/dev\/(?:sd[a-z]+\d*|vd[a-z]+\d*|[A-Za-z0-9+_.][A-Za-z0-9+_.-]*\/[A-Za-z0-9+_.][A-Za-z0-9+_.-]*)$/;

export function isPlainDevice(name: string): boolean {
  return APPLIANCE_DEVICE.test(name) && !name.split('/').includes('..') && !name.split('/').includes('.');
}

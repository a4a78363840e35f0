// The bundle's edits of Ink, applied by scripts/build.mjs at build time; the build fails when one no
// longer applies (Ink changed). test/unit/inkPatches.test.ts checks that the patched Ink draws the
// same frames.
//
// output.js, the frame writer: Ink turns the whole screen into a grid of styled cells every frame and back into
// text: each line tokenised for ANSI and measured grapheme by grapheme, each cell compared with its
// neighbour through three fresh Sets. A console redraws a screen that is mostly the same lines every
// refresh, so the bundle keeps what depends only on a line's text across frames, and a row whose
// cells are the very ones of the previous frame is not turned into text again. bench/top.ts: this
// writer allocated three quarters of the console's garbage (~4 MiB a second), which the 1 MiB young
// generation promoted into old space between major collections.

/** An exact piece of Ink's source, matched with any whitespace between its tokens. */
function anchor(text) {
  const escaped = text
    .trim()
    .split(/\s+/)
    .map((word) => word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('\\s*');
  return new RegExp(escaped);
}

const OUTPUT_EDITS = [
  {
    why: 'the per-line caches live across frames, emptied when they pass a few screens worth',
    from: 'caches = new OutputCaches();',
    to: 'caches = sharedOutputCaches.styledChars.size > 4000 || sharedOutputCaches.widths.size > 8000 ? (sharedOutputCaches = new OutputCaches()) : sharedOutputCaches;',
  },
  {
    // Cells are replaced, never changed in place, so every blank cell can be one object: a row
    // left as it was is then made of the same objects as in the previous frame.
    why: 'one blank cell object',
    from: `row.push({
                    type: 'char',
                    value: ' ',
                    fullWidth: false,
                    styles: [],
                });`,
    to: 'row.push(BLANK_CELL);',
  },
  {
    why: 'rows turned into text only when their cells changed',
    from: `const generatedOutput = output
            .map(line => {
            // See https://github.com/vadimdemedes/ink/pull/564#issuecomment-1637022742
            const lineWithoutEmptyItems = line.filter(item => item !== undefined);
            return styledCharsToString(lineWithoutEmptyItems).trimEnd();
        })
            .join('\\n');`,
    to: "const generatedOutput = output.map((line, y) => rowText(line, y)).join('\\n');",
  },
];

const ADDED = `
var sharedOutputCaches = new OutputCaches();
var BLANK_CELL = Object.freeze({ type: 'char', value: ' ', fullWidth: false, styles: Object.freeze([]) });
var previousRows = [];
function sameStyles(a, b) {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i].code !== b[i].code || a[i].endCode !== b[i].endCode) return false;
  return true;
}
function cellsToString(cells) {
  let text = '';
  let styles = null;
  for (const cell of cells) {
    if (cell === undefined) continue;
    if (styles === null) text += ansiCodesToString(cell.styles);
    else if (!sameStyles(styles, cell.styles)) text += ansiCodesToString(diffAnsiCodes(styles, cell.styles));
    text += cell.value;
    styles = cell.styles;
  }
  if (styles !== null && styles.length > 0) text += ansiCodesToString(diffAnsiCodes(styles, []));
  return text.trimEnd();
}
function rowText(cells, y) {
  const previous = previousRows[y];
  if (previous !== undefined && previous.cells.length === cells.length) {
    let same = true;
    for (let i = 0; i < cells.length; i++) {
      if (previous.cells[i] !== cells[i]) {
        same = false;
        break;
      }
    }
    if (same) return previous.text;
  }
  const text = cellsToString(cells);
  previousRows[y] = { cells, text };
  return text;
}
`;

// measure-text.js keeps the size of every text Ink ever laid out, in a Map that never shrinks: a
// console whose rates and times change every refresh grows it by some tens of strings each time,
// for as long as it runs. render-node-to-output.js measures the same texts again, uncached, every
// frame (widest-line: grapheme segmentation, a tenth of the console's garbage).
const MEASURE_EDITS = [
  {
    why: 'a bounded measure cache',
    from: 'cache.set(text, dimensions);',
    to: 'if (cache.size >= 2000) cache.clear();\n    cache.set(text, dimensions);',
  },
];
const RENDER_EDITS = [
  {
    why: 'text widths from the measure cache',
    from: 'const currentWidth = widestLine(text);',
    to: 'const currentWidth = measureText(text).width;',
  },
];

// ink.js, the frame loop: once a frame fills the terminal, Ink clears the screen and writes the
// whole frame again, every frame, changed or not: ~6.5 KiB at 120x40 for a refresh that moved
// only the clock, each byte through the pty to the admin's terminal (over ssh), which redraws it
// all. The bundle writes only the lines that changed, each at its row (a full-screen frame starts
// at the top-left), and nothing for a frame that reads as the one on screen. It clears and writes
// everything as Ink did when it cannot know what the screen shows: the first full-screen frame
// of an instance, after the width changed, after something else was written (console output
// Ink put above its frame), or with <Static> output.
const INK_EDITS = [
  {
    why: 'full-screen frames write only their changed lines',
    from: 'this.options.stdout.write(ansiEscapes.clearTerminal + this.fullStaticOutput + output);',
    to: 'this.options.stdout.write(fullScreenFrame(this, output, ansiEscapes.clearTerminal));',
  },
  {
    why: 'a frame disturbed by other output is drawn whole next time',
    from: 'restoreLastOutput = () => {',
    to: 'restoreLastOutput = () => {\n        this.virtdeckShown = undefined;',
  },
];

const INK_ADDED = `
function fullScreenFrame(ink, output, clear) {
  const columns = ink.options.stdout.columns;
  const shown = ink.virtdeckShown;
  ink.virtdeckShown = { output, columns };
  // The frame before went to the screen some other way (shorter than the terminal): drawn whole.
  const same = shown !== undefined && shown.columns === columns && shown.output === ink.lastOutput;
  if (!same || ink.fullStaticOutput !== '') return clear + ink.fullStaticOutput + output;
  return changedLines(shown.output, output) ?? clear + output;
}
`;

/**
 * What turns the screen showing the full-screen frame before (from the top-left) into the one after:
 * each changed line erased and written at its row, then the cursor where writing the whole frame
 * leaves it (the last row). '' when nothing changed; null when the line counts differ.
 */
export function changedLines(before, after) {
  const was = before.split('\n');
  const now = after.split('\n');
  if (was.length !== now.length) return null;
  let out = '';
  for (let i = 0; i < now.length; i++) {
    // Erased before it is written: a line as wide as the terminal leaves the cursor on its last
    // column, where an erase to the end of the line would take the last character.
    if (now[i] !== was[i]) out += `\u001b[${i + 1};1H\u001b[2K${now[i]}`;
  }
  return out === '' ? '' : `${out}\u001b[${now.length};1H`;
}

function applyEdits(file, source, edits) {
  let patched = source;
  for (const edit of edits) {
    const re = anchor(edit.from);
    if (!re.test(patched)) throw new Error(`ink/build/${file} changed: the bundle's patch no longer applies (${edit.why}); see scripts/inkPatches.mjs`);
    patched = patched.replace(re, () => edit.to);
  }
  return patched;
}

/** `source` of ink/build/`file` as the bundle has it; throws when an edit no longer applies. */
export function patchInk(file, source) {
  switch (file) {
    case 'output.js': {
      const patched = applyEdits(file, source, OUTPUT_EDITS);
      if (!patched.includes("from '@alcalzone/ansi-tokenize';")) throw new Error('ink/build/output.js changed: it no longer imports @alcalzone/ansi-tokenize; see scripts/inkPatches.mjs');
      return `import { ansiCodesToString, diffAnsiCodes } from '@alcalzone/ansi-tokenize';\n${patched}\n${ADDED}`;
    }
    case 'measure-text.js':
      return applyEdits(file, source, MEASURE_EDITS);
    case 'ink.js':
      return `${applyEdits(file, source, INK_EDITS)}\n${INK_ADDED}\n${changedLines.toString()}\n`;
    case 'render-node-to-output.js':
      return `import measureText from './measure-text.js';\n${applyEdits(file, source, RENDER_EDITS)}`;
    default:
      return source;
  }
}

/**
 * Key presses as names, the vocabulary of the key table: a printable character, or
 * up/down/left/right/pageup/pagedown/home/end/enter/esc/tab/shift-tab/backspace/ctrl-x.
 */

/** The subset of Ink's Key we read; kept structural so tests and the store need no Ink import. */
export interface KeyFlags {
  upArrow?: boolean;
  downArrow?: boolean;
  leftArrow?: boolean;
  rightArrow?: boolean;
  pageUp?: boolean;
  pageDown?: boolean;
  home?: boolean;
  end?: boolean;
  return?: boolean;
  escape?: boolean;
  tab?: boolean;
  shift?: boolean;
  ctrl?: boolean;
  meta?: boolean;
  backspace?: boolean;
  delete?: boolean;
}

/** One key press: its name and, for a printable key, the character typed. */
export interface KeyPress {
  name: string;
  input: string;
}

export function keyName(input: string, key: KeyFlags): string {
  if (key.upArrow) return 'up';
  if (key.downArrow) return 'down';
  if (key.leftArrow) return 'left';
  if (key.rightArrow) return 'right';
  if (key.pageUp) return 'pageup';
  if (key.pageDown) return 'pagedown';
  if (key.home) return 'home';
  if (key.end) return 'end';
  if (key.return) return 'enter';
  if (key.escape) return 'esc';
  if (key.tab) return key.shift ? 'shift-tab' : 'tab';
  if (key.backspace || key.delete) return 'backspace';
  if (key.ctrl && input) return `ctrl-${input.toLowerCase()}`;
  return input;
}

/** The name of one raw character that Ink handed over inside a run of text. */
function charName(ch: string): string {
  if (ch === '\r' || ch === '\n') return 'enter';
  if (ch === '\t') return 'tab';
  if (ch === '\u007F' || ch === '\b') return 'backspace';
  if (ch === '\u001B') return 'esc';
  const code = ch.charCodeAt(0);
  if (code < 0x20) return `ctrl-${String.fromCharCode(code + 0x60)}`;
  return ch;
}

/**
 * The key presses in one input event. Ink splits escape sequences but hands a run of plain text
 * ("\r5" when Enter and 5 arrive in one read over SSH, "root" from a fast typist or a paste) over
 * as one event: each character is a key of its own here, routed one after the other against the
 * store as each leaves it. Ink also reads ESC followed at once by a letter as Alt+letter; virtdeck
 * binds no Alt key, so it is what was typed: Esc, then the letter (vim reads it the same way).
 */
export function keyPresses(input: string, key: KeyFlags): KeyPress[] {
  const named = keyName(input, key);
  if (key.meta && !key.ctrl && input.length === 1 && named === input) return [{ name: 'esc', input: '' }, { name: input, input }];
  if (named !== input || input.length <= 1 || key.ctrl || key.meta) return [{ name: named, input: named === input ? input : '' }];
  return Array.from(input, (ch) => {
    const name = charName(ch);
    return { name, input: name === ch ? ch : '' };
  });
}

/** How a key is written for people: "Ctrl-C", "Enter", "Tab"; words, so ASCII consoles show them too. */
export function displayKey(name: string): string {
  const words: Record<string, string> = {
    up: 'Up',
    down: 'Down',
    left: 'Left',
    right: 'Right',
    enter: 'Enter',
    esc: 'Esc',
    tab: 'Tab',
    'shift-tab': 'Shift-Tab',
    home: 'Home',
    end: 'End',
    pageup: 'PgUp',
    pagedown: 'PgDn',
    backspace: 'Backspace',
    ' ': 'Space',
  };
  if (words[name]) return words[name];
  if (name.startsWith('ctrl-')) return `Ctrl-${name.slice(5).toUpperCase()}`;
  return name;
}

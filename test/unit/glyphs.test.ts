import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { GLYPHS, toAscii, UNKNOWN_GLYPH } from '../../src/model/glyphs.js';
import { chooseTheme } from '../../src/ui/theme.js';

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** Text that reaches a screen or the CLI: string and template literals and JSX text (not comments, not regexes, which only match). */
const TEXT_KINDS = new Set([ts.SyntaxKind.StringLiteral, ts.SyntaxKind.NoSubstitutionTemplateLiteral, ts.SyntaxKind.TemplateHead, ts.SyntaxKind.TemplateMiddle, ts.SyntaxKind.TemplateTail, ts.SyntaxKind.JsxText]);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.tsx?$/.test(e.name))
    .map((e) => join(e.parentPath, e.name));
}

/** Every non-ASCII character in src/'s text, with the first place it is used. */
function glyphsInSource(): Map<string, string> {
  const found = new Map<string, string>();
  for (const file of sourceFiles('src')) {
    const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false, file.endsWith('.tsx') ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
    const visit = (node: ts.Node) => {
      if (TEXT_KINDS.has(node.kind)) {
        for (const ch of node.getText(sf).match(/[^\x00-\x7f]/gu) ?? []) {
          if (!found.has(ch)) found.set(ch, `${file}:${sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1}`);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return found;
}

describe('the glyph table', () => {
  it("has a printable ASCII side for every glyph, and no ASCII on its Unicode side", () => {
    for (const [glyph, ascii] of Object.entries(GLYPHS)) {
      expect(ascii, glyph).toMatch(PRINTABLE_ASCII);
      expect(ascii.length, glyph).toBeGreaterThan(0);
      expect(glyph, glyph).toMatch(/^[^\x00-\x7f]+$/u);
    }
  });

  it('names every non-ASCII character used in the text of src/ (a new glyph needs its ASCII side here)', () => {
    const found = glyphsInSource();
    // The scan itself works: these are known to be in use.
    for (const ch of ['…', '·', '→', '─', '✓']) expect(found.has(ch), ch).toBe(true);
    const missing = [...found].filter(([ch]) => !(ch in GLYPHS)).map(([ch, where]) => `${ch} (U+${(ch.codePointAt(0) ?? 0).toString(16)}) at ${where}`);
    expect(missing).toEqual([]);
  });

  it('draws text in ASCII: sequences before their parts, unknown characters as one mark', () => {
    expect(toAscii('256 MiB → 512 MiB')).toBe('256 MiB -> 512 MiB');
    expect(toAscii('↑↓ field   ←→ choose   ← parent')).toBe('Up/Down field   Left/Right choose   <- parent');
    expect(toAscii('── qemu-img info ──')).toBe('-- qemu-img info --');
    expect(toAscii('reading…')).toBe('reading...');
    expect(toAscii('café 日本 😀')).toBe(`caf${UNKNOWN_GLYPH} ${UNKNOWN_GLYPH}${UNKNOWN_GLYPH} ${UNKNOWN_GLYPH}`);
    expect(toAscii('plain ASCII stays')).toBe('plain ASCII stays');
  });

  it("is where the theme's ASCII frame and symbols come from, and Unicode terminals keep their glyphs", () => {
    const uni = chooseTheme({ TERM: 'xterm-256color', LANG: 'C.UTF-8' });
    const ascii = chooseTheme({ TERM: 'linux', LANG: 'C.UTF-8' });
    for (const k of Object.keys(uni.symbols) as (keyof typeof uni.symbols)[]) expect(ascii.symbols[k]).toBe(toAscii(uni.symbols[k]));
    for (const k of Object.keys(uni.frame) as (keyof typeof uni.frame)[]) expect(ascii.frame[k]).toBe(toAscii(uni.frame[k]));
    expect(uni.text('a → b …')).toBe('a → b …');
    expect(ascii.text('a → b …')).toBe('a -> b ...');
  });
});

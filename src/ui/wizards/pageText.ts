import type { PageLine } from '../../store/wizards/page.js';
import type { Theme } from '../theme.js';

/** A store page's lines as text, each mark drawn with the theme's symbol. */
export function pageText(lines: readonly PageLine[], theme: Theme): string[] {
  return lines.map((l) => (l.mark ? `${theme.symbols[l.mark]} ${l.text}` : l.text));
}

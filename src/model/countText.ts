/** Counts in sentences: "1 directory", "2 directories", never "1 directories" or "These 1 directory". */

/** "1 key", "3 keys"; `many` for words that do not just take an s ("directory" → "directories"). */
export function countOf(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

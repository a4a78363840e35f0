/**
 * Independent reads run at once (a restore's checks before its plan: each is a process or a
 * libvirt call, and most of their time is waiting), but the error the admin sees is the one the
 * first failing read would have given had they run one after another, so it never depends on
 * which process happened to finish first.
 */
export async function allInOrder<T extends readonly unknown[]>(tasks: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const settled = await Promise.allSettled(tasks);
  for (const s of settled) if (s.status === 'rejected') throw s.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

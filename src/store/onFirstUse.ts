/**
 * Code the console loads the first time an admin asks for it (a wizard, a pane not yet shown), so
 * a console that only watches the Guests pane does not carry it: in the bundle each such module is
 * a chunk of its own (scripts/build.mjs), and V8 keeps the source and function data of every module
 * that ran. Once loaded the module is kept, and later uses act at once, as before.
 */
import type { AppStore } from './appState.js';

export interface OnFirstUse<M> {
  /** The module when it has been loaded. */
  loaded(): M | undefined;
  /** Calls `use` with the module, now when it is loaded, else once it is. */
  with(use: (m: M) => void, hooks?: LoadHooks): void;
}

export interface LoadHooks {
  /** Called when the module is not loaded yet, before it is (the status line says so). */
  loading?: () => void;
  /** Called instead of `use` when loading fails (a chunk missing from a copied dist/). */
  failed?: (e: unknown) => void;
  /** Checked once the module is there: false drops the use (the console quit meanwhile). */
  stillWanted?: () => boolean;
}

export function onFirstUse<M>(load: () => Promise<M>): OnFirstUse<M> {
  let module: M | undefined;
  let pending: Promise<M> | null = null;
  return {
    loaded: () => module,
    with(use, hooks = {}) {
      if (module !== undefined) return use(module);
      hooks.loading?.();
      pending ??= load().then(
        (m) => {
          module = m;
          return m;
        },
        (e: unknown) => {
          pending = null;
          throw e;
        },
      );
      pending.then(
        (m) => {
          if (hooks.stillWanted?.() ?? true) use(m);
        },
        (e: unknown) => hooks.failed?.(e),
      );
    },
  };
}

/** Opens what `m` holds in the console; while its code loads the first time the status line says so. */
export function openOnFirstUse<M>(app: AppStore, m: OnFirstUse<M>, what: string, open: (m: M) => void): void {
  const busy = `Opening ${what}\u2026`;
  m.with(
    (loaded) => {
      if (app.getState().message?.text === busy) app.setState({ message: null });
      open(loaded);
    },
    {
      loading: () => app.getState().setMessage(busy, 'busy'),
      stillWanted: () => !app.getState().quitRequested,
      failed: (e) => app.getState().showError(`Could not open ${what}`, e),
    },
  );
}

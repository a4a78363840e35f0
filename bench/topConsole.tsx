/**
 * The console as an admin runs it, on the Guests pane of the test-driver host given as argv[2],
 * refreshing every argv[3] ms. bench/top.ts bundles this like dist/virtdeck.js and runs it on a
 * pseudo-terminal; only the refresh interval differs from `virtdeck --connect URI` (the store's
 * default is 5 s, the bench asks for top's 2 s).
 */
import { createHostContext } from '../src/config/connect.js';
import { runTui } from '../src/ui/run.js';

const [uri, pollMs] = process.argv.slice(2);
if (!uri) throw new Error('usage: topConsole URI [POLL_MS]');
process.umask(0o077);
await runTui({ host: createHostContext({ uri, name: 'bench' }), initialPane: 'guests', pollMs: Number(pollMs ?? 2_000) });

import { cleanup } from 'ink-testing-library';
import { afterEach, describe, expect, test } from 'vitest';
import { demoGuests, renderApp } from '../ui/helpers.js';

afterEach(() => cleanup());

/**
 * A guest name is whatever the host (a remote one, or a guest imported from a customer's .vmx)
 * says: the console shows its control characters as text instead of handing them to the terminal.
 */
describe('outside text in the console', () => {
  test('a guest named with an OSC title sequence is shown as \\x1b, never written raw', async () => {
    const name = 'evil\u001b]2;owned\u0007x';
    const app = await renderApp([...demoGuests(), { name, state: 'shut off', vcpus: 1, memoryMiB: 64, macs: ['52:54:00:00:00:99'] }]);
    const f = await app.waitFor('evil\\x1b]2;owned\\x07x');
    expect(f).not.toContain('\u001b]');
    expect(f).not.toContain('\u0007');
  });
});

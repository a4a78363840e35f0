import fc from 'fast-check';

// Ink drops intermediate frames and ignores resize when CI is set (see STYLE.md pitfalls).
delete process.env.CI;

// Property tests explore the same cases on every run unless asked to roam, so a red CI run can be
// replayed and a green one means the same inputs passed. `VIRTDECK_FC_SEED=random npm test` explores
// new cases (fast-check prints the seed of a failure); `VIRTDECK_FC_SEED=N` replays one.
const seed = process.env.VIRTDECK_FC_SEED;
if (seed !== 'random') fc.configureGlobal({ seed: seed ? Number(seed) : 20261207 });

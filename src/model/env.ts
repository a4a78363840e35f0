/** Environment variables as virtdeck reads them (process.env, or a test's own). */
export type Env = Record<string, string | undefined>;

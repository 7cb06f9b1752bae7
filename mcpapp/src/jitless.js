// Imported first: zod (inside ext-apps) probes `new Function` while its
// schemas are built at import, before App's constructor sets jitless, and
// under the host's CSP (no 'unsafe-eval') that probe is a CSP violation
// report. zod reads its settings from this global, so set jitless before.
globalThis.__zod_globalConfig = { ...globalThis.__zod_globalConfig, jitless: true };

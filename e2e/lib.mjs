// Shared by the e2e/*.mjs scripts: pass/fail counting with the closing
// line `make test` reads, polling for a state, and Debian's chromium.
import { chromium } from 'playwright-core';

// checks(name) counts checks; done() prints "e2e/NAME: N passed, M failed"
// and exits with the status.
export function checks(name) {
  let passes = 0;
  let failures = 0;
  const log = (...a) => console.error(`e2e/${name}:`, ...a);
  return {
    log,
    check(cond, msg) {
      if (cond) { passes++; return; }
      failures++;
      log('FAIL:', msg);
    },
    fail(e) {
      failures++;
      log('FAIL:', e?.stack || String(e));
    },
    done() {
      console.log(`e2e/${name}: ${passes} passed, ${failures} failed`);
      process.exit(failures ? 1 : 0);
    },
  };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// until polls fn (every 100 ms) until it returns something truthy, and
// returns that; it throws after timeout ms.
export async function until(what, fn, timeout = 30000) {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

// browser launches Debian's chromium headless.
export function browser() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}

// What every browser test shares: Debian's Chromium started by
// playwright-core, the collector's certificate trusted by its SPKI pin (no
// blanket ignoreHTTPSErrors), logging in through the real form, screenshots
// and one more collection cycle of a fixture agent.
//
// The environment (set by dashboard_test.sh, or by harness.test.mjs for
// itself):
//   EVIDENTIA_WEB_URL   https://127.0.0.1:PORT, the dashboard
//   EVIDENTIA_WEB_SPKI  base64 SHA-256 of the dashboard certificate's
//                       SubjectPublicKeyInfo: the only certificate trusted
//   EVIDENTIA_CHROMIUM  the browser (default /usr/bin/chromium)
//   SCREENSHOT_DIR      where screenshot() writes its PNGs
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';

// Generous: two cores, with a build or another test beside us.
export const TIMEOUT_MS = 60_000;

export function env(name) {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new Error(`${name} is not set (tests/browser/dashboard_test.sh sets it)`);
  }
  return value;
}

export function baseUrl() {
  return env('EVIDENTIA_WEB_URL').replace(/\/$/, '');
}

// The switches Chromium starts with. Playwright adds a fresh temporary
// --user-data-dir of its own (removed on close; it refuses one in args),
// --headless, and --no-sandbox unless chromiumSandbox is set: the sandbox
// stays on except as root, where Chromium will not start with it.
export function chromiumArgs(spkiPins) {
  const args = [
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-proxy-server', // 127.0.0.1 only, whatever proxy CI sets
  ];
  if (spkiPins.length > 0) {
    args.push(`--ignore-certificate-errors-spki-list=${spkiPins.join(',')}`);
  }
  return args;
}

// A headless Chromium that trusts the certificates whose SPKI hashes are
// given (default: EVIDENTIA_WEB_SPKI) and no other one outside the system
// store.
export async function launch({ spki } = {}) {
  const pins = spki ?? [env('EVIDENTIA_WEB_SPKI')];
  const browser = await chromium.launch({
    executablePath: process.env.EVIDENTIA_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    chromiumSandbox: process.getuid() !== 0,
    args: chromiumArgs(pins),
    timeout: TIMEOUT_MS,
  });
  return browser;
}

// A new context (its own cookies) and page on it, with bounded waits.
export async function newPage(browser) {
  const context = await browser.newContext({ baseURL: baseUrl() });
  context.setDefaultTimeout(TIMEOUT_MS);
  context.setDefaultNavigationTimeout(TIMEOUT_MS);
  return context.newPage();
}

// Submits the login form; returns the response to the POST /login (its
// status is 303 on success; the page then shows where it led).
export async function login(page, user, password) {
  await page.goto('/login');
  await page.fill('form#login input[name=user]', user);
  await page.fill('form#login input[name=password]', password);
  // One new document per submit (the overview after the 303, or the
  // login page again): its load event, and the POST's own response.
  const posted = page.waitForResponse(
    (r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/login');
  const loaded = page.waitForEvent('load');
  await page.click('form#login [type=submit]');
  const [response] = await Promise.all([posted, loaded]);
  return response;
}

// Logs in and checks it worked: redirected to the overview.
export async function loginOk(page, user, password) {
  const response = await login(page, user, password);
  if (response.status() !== 303) {
    throw new Error(`login as ${user}: HTTP ${response.status()}, not 303`);
  }
  if (new URL(page.url()).pathname !== '/') {
    throw new Error(`login as ${user}: at ${page.url()}, not /`);
  }
}

// What a page that should be fine went wrong with in the browser:
// console errors (a Content-Security-Policy violation is one), uncaught
// script errors, and subresources that failed or answered an error.
// Start it before the navigation; problems() lists them. The favicon
// Chromium asks for on its own may be missing.
export function watch(page) {
  const seen = [];
  const favicon = (url) => new URL(url).pathname === '/favicon.ico';
  page.on('console', (m) => {
    // "Failed to load resource": the response handler below, with the URL.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) {
      seen.push(`console: ${m.text()}`);
    }
  });
  page.on('pageerror', (e) => seen.push(`script error: ${e.message}`));
  page.on('requestfailed', (r) => {
    if (!favicon(r.url())) seen.push(`failed: ${r.url()} ${r.failure()?.errorText}`);
  });
  page.on('response', (r) => {
    if (!r.request().isNavigationRequest() && r.status() >= 400 && !favicon(r.url())) {
      seen.push(`HTTP ${r.status()}: ${r.url()}`);
    }
  });
  return { problems: () => [...seen], clear: () => { seen.length = 0; } };
}

// A browser signed in as `user`: its page, and open(path), which loads
// path and fails unless it answered 200 and rendered without a problem
// (watch()). Close the browser after the tests.
export async function signedIn(user, password) {
  const browser = await launch();
  const page = await newPage(browser);
  const watcher = watch(page);
  await loginOk(page, user, password);
  async function open(path) {
    watcher.clear();
    const response = await page.goto(path);
    if (response.status() !== 200) {
      throw new Error(`GET ${path}: HTTP ${response.status()}, not 200`);
    }
    await page.waitForLoadState('load');
    const problems = watcher.problems();
    if (problems.length > 0) throw new Error(`GET ${path}: ${problems.join('; ')}`);
  }
  return { browser, page, open };
}

// A full-page PNG in SCREENSHOT_DIR (name without .png); returns its path.
export async function screenshot(page, name) {
  const dir = env('SCREENSHOT_DIR');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name.replace(/[^A-Za-z0-9_.-]/g, '_')}.png`);
  await page.screenshot({ path, fullPage: true, timeout: TIMEOUT_MS });
  return path;
}

// fetch() from inside the page: same origin, the page's cookies, through
// the browser's own network stack and TLS. Redirects are not followed
// (status 0 and type "opaqueredirect" then).
export async function pageFetch(page, path, { method = 'GET', form } = {}) {
  return page.evaluate(async ({ path, method, form }) => {
    const init = { method, redirect: 'manual', credentials: 'same-origin' };
    if (form) init.body = new URLSearchParams(form);
    const r = await fetch(path, init);
    return { status: r.status, type: r.type, text: await r.text() };
  }, { path, method, form });
}

const execFileAsync = promisify(execFile);

// One more collection cycle of a fixture agent (its state dir, and the
// fixture root its probes read), delivered to the collector.
export async function agentCycle(stateDir, root) {
  await execFileAsync(env('EVIDENTIA_AGENT'),
    ['run', '--once', '--state-dir', stateDir, '--root', root],
    { timeout: TIMEOUT_MS });
}

// The evidentia CLI on the collector's data dir; returns its stdout.
export async function cli(...args) {
  const { stdout } = await execFileAsync(env('EVIDENTIA_CLI'), args,
    { timeout: TIMEOUT_MS, env: { ...process.env, EVIDENTIA_DATA_DIR: env('EVIDENTIA_DATA_DIR') } });
  return stdout;
}

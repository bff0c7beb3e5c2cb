// The dashboard's pages as a viewer sees them, on the two fixture hosts of
// dashboard_test.sh (one disk encrypted, one plain, so a.8.24 fails on
// one): overview, controls, a control's failing hosts, hosts, a host's
// checks, "as of" a date; each page renders without a console error, a CSP
// violation, a script error or a failed subresource. Last, one more cycle
// of the plain host, now encrypted, takes it off a.8.24's failing hosts.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  agentCycle, env, screenshot, signedIn, TIMEOUT_MS,
} from './support.mjs';

const T = { timeout: 6 * TIMEOUT_MS };
const plainHost = env('EVIDENTIA_PLAIN_HOST');
const encryptedHost = env('EVIDENTIA_ENCRYPTED_HOST');
let browser;
let page;
let open;

before(async () => {
  ({ browser, page, open } = await signedIn(
    env('EVIDENTIA_VIEWER_USER'), env('EVIDENTIA_VIEWER_PASSWORD')));
});
after(async () => { await browser?.close(); });

test('the overview: grade counts and the compliance chart', T, async () => {
  await open('/');
  assert.equal((await page.textContent('h1')).trim(), 'Overview');
  const counts = page.locator('#grade-counts [data-grade]');
  assert.ok(await counts.count() > 0, 'no [data-grade] in #grade-counts');
  assert.equal(await page.locator('#grade-counts [data-grade="compliant"]').count(), 1);
  let total = 0;
  for (const text of await counts.allTextContents()) {
    const n = text.match(/\d+/);
    assert.ok(n, `a grade count without a number: "${text}"`);
    total += Number(n[0]);
  }
  assert.ok(total > 0, 'no control counted');
  const chart = page.locator('svg#compliance-chart');
  assert.ok(await chart.isVisible(), 'svg#compliance-chart is not visible');
  const box = await chart.boundingBox();
  assert.ok(box.width > 0 && box.height > 0, 'the chart has no size');
  await screenshot(page, 'overview');
});

test('controls: a.8.24 graded, linked to its page', T, async () => {
  await open('/controls');
  const row = page.locator('table#controls tr[data-control="a.8.24"]');
  assert.equal(await row.count(), 1);
  assert.notEqual((await row.locator('td.grade').textContent()).trim(), '');
  await screenshot(page, 'controls');
  const loaded = page.waitForEvent('load');
  await row.locator('a[href="/controls/a.8.24"]').click();
  await loaded;
  assert.equal(new URL(page.url()).pathname, '/controls/a.8.24');
});

// The agents failing a check of the control page open, each once: rows of
// its failing and stale hosts table (one per host and check) in state fail
// (the encrypted fixture also has a row: it warns of its LUKS1 header).
function failingRows() {
  return page.locator('#failing-hosts tr[data-agent]', { has: page.locator('.state.fail') });
}
async function failingHosts() {
  const agents = await failingRows().evaluateAll(
    (rows) => rows.map((tr) => tr.getAttribute('data-agent')));
  return [...new Set(agents)];
}

// The state of a check on the host page open: "pass", "fail"... (its class).
async function checkState(check) {
  const badge = page.locator(`table#checks tr[data-check="${check}"] .state`);
  assert.equal(await badge.count(), 1, `no row for ${check} in table#checks`);
  const classes = (await badge.getAttribute('class')).split(/\s+/);
  return classes.find((c) => c !== 'state');
}
const FIXED_VOLUMES = 'linux.disk_encryption.fixed_volumes';

test('a.8.24: the plain host fails it, with a reason and since when', T, async () => {
  await open('/controls/a.8.24');
  assert.deepEqual(await failingHosts(), [plainHost]);
  const row = failingRows().first();
  assert.ok(await row.locator('ul.reasons li').count() > 0, 'no reason in the row');
  assert.notEqual((await row.locator('.since').textContent()).trim(), '', 'no .since');
  await screenshot(page, 'control-a.8.24');
  const loaded = page.waitForEvent('load');
  await row.locator(`a[href="/hosts/${plainHost}"]`).click();
  await loaded;
  assert.equal(new URL(page.url()).pathname, `/hosts/${plainHost}`);
});

test('hosts, and a host\'s checks', T, async () => {
  await open('/hosts');
  for (const host of [plainHost, encryptedHost]) {
    assert.equal(await page.locator(`a[href="/hosts/${host}"]`).count() > 0, true,
      `no link to ${host}`);
  }
  await screenshot(page, 'hosts');
  await open(`/hosts/${plainHost}`);
  assert.ok(await page.locator('table#checks tr[data-check]').count() > 1,
    'table#checks is empty');
  assert.equal(await checkState(FIXED_VOLUMES), 'fail');
  await screenshot(page, 'host-plain');
  // Each check links to the signed snapshot it was graded on.
  const snapshot = page.locator(`table#checks tr[data-check="${FIXED_VOLUMES}"] a[href*="/snapshots/"]`);
  const loaded = page.waitForEvent('load');
  await snapshot.click();
  await loaded;
  assert.match(new URL(page.url()).pathname, new RegExp(`^/hosts/${plainHost}/snapshots/[0-9]+$`));
  assert.match(await page.textContent('#signature'), /verifies under the agent's key/);
  assert.ok(await page.locator('table#observations tbody tr').count() > 1, 'no observations');
  assert.match(await page.textContent('#facts-linux\\.disk_encryption pre'), /unencrypted_devices/);
  await screenshot(page, 'snapshot');
  await open(`/hosts/${encryptedHost}`);
  assert.equal(await checkState(FIXED_VOLUMES), 'pass');
});

test('as of a date: the form, and ?at= on every page', T, async () => {
  await open('/');
  const form = page.locator('form#as-of');
  assert.equal((await form.getAttribute('method'))?.toLowerCase() ?? 'get', 'get');
  const at = new Date().toISOString().slice(0, 10);
  await form.locator('input[name=at]').fill(at);
  const loaded = page.waitForEvent('load');
  await form.evaluate((f) => f.requestSubmit());
  await loaded;
  assert.equal(new URL(page.url()).searchParams.get('at'), at);
  for (const path of ['/', '/controls', '/controls/a.8.24', '/hosts', `/hosts/${plainHost}`]) {
    await open(`${path}?at=${at}`);
  }
  // Before any evidence: no host had failed a.8.24 yet.
  await open('/controls/a.8.24?at=2000-01-01');
  assert.deepEqual(await failingHosts(), []);
  await screenshot(page, 'control-a.8.24-at-2000-01-01');
});

test('one more cycle, the plain host now encrypted: its check passes, off a.8.24\'s failing hosts', T, async () => {
  await agentCycle(env('EVIDENTIA_PLAIN_STATE'), env('EVIDENTIA_ENCRYPTED_ROOT'));
  await open(`/hosts/${plainHost}`);
  assert.equal(await checkState(FIXED_VOLUMES), 'pass');
  await open('/controls/a.8.24');
  assert.deepEqual(await failingHosts(), []);
  await screenshot(page, 'control-a.8.24-after-encryption');
});

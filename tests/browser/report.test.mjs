// The bundle's static report, opened from a file: URL with no server: the
// same pages as the dashboard, as of the end of the period, with links
// that work between them and to the signed snapshots.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import {
  cli, env, launch, screenshot, TIMEOUT_MS, watch,
} from './support.mjs';

const T = { timeout: 6 * TIMEOUT_MS };
let browser;
let page;
let watcher;
let bundle;

before(async () => {
  const today = new Date().toISOString().slice(0, 10);
  bundle = join(env('TMPDIR'), 'bundle');
  await cli('export', '--from', today, '--to', today, '--out', bundle);
  browser = await launch({ spki: [] });
  const context = await browser.newContext();
  context.setDefaultTimeout(TIMEOUT_MS);
  page = await context.newPage();
  watcher = watch(page);
});
after(async () => { await browser?.close(); });

async function follow(locator) {
  watcher.clear();
  const loaded = page.waitForEvent('load');
  await locator.first().click();
  await loaded;
  assert.equal(new URL(page.url()).protocol, 'file:');
  assert.deepEqual(watcher.problems(), [], page.url());
}

test('the report opens from the bundle directory and its links work', T, async () => {
  const index = join(bundle, 'report', 'index.html');
  assert.ok(existsSync(index), `${index} is missing`);
  await page.goto(pathToFileURL(index).href);
  assert.deepEqual(watcher.problems(), []);
  assert.equal((await page.textContent('h1')).trim(), 'Evidence report');
  assert.ok(await page.locator('#grade-counts [data-grade="compliant"]').count() === 1);
  assert.ok(await page.locator('svg#compliance-chart').isVisible());
  assert.match(await page.textContent('#bundle'), /Period/);
  await screenshot(page, 'report-overview');

  await follow(page.locator('nav a', { hasText: 'Controls' }));
  assert.ok(page.url().endsWith('/report/controls.html'), page.url());
  await follow(page.locator('table#controls tr[data-control="a.8.24"] a'));
  assert.ok(page.url().endsWith('/report/controls/a.8.24.html'), page.url());
  assert.match(await page.textContent('h1'), /a\.8\.24/);
  await screenshot(page, 'report-control-a.8.24');

  await follow(page.locator('nav a', { hasText: 'Hosts' }));
  assert.ok(page.url().endsWith('/report/hosts.html'), page.url());
  const plain = env('EVIDENTIA_PLAIN_HOST');
  await follow(page.locator(`table#hosts tr[data-agent="${plain}"] a`));
  assert.ok(page.url().endsWith(`/report/hosts/${plain}.html`), page.url());
  assert.ok(await page.locator('table#checks tr[data-check]').count() > 0);
  // Each check links to its signed snapshot in the bundle.
  const snapshot = await page.locator('table#checks a[href*="snapshots/"]').first()
    .getAttribute('href');
  const target = new URL(snapshot, page.url());
  assert.ok(existsSync(target.pathname), `${target.pathname} is missing`);

  await follow(page.locator('nav a', { hasText: 'Overview' }));
  assert.ok(page.url().endsWith('/report/index.html'), page.url());
});

test('the report has no form and no link off the bundle', T, async () => {
  for (const path of ['index.html', 'controls.html', 'hosts.html', 'controls/a.8.24.html']) {
    await page.goto(pathToFileURL(join(bundle, 'report', path)).href);
    assert.equal(await page.locator('form').count(), 0, path);
    for (const href of await page.locator('a[href]').evaluateAll(
      (links) => links.map((a) => a.getAttribute('href')))) {
      assert.ok(!/^[a-z]+:/i.test(href) && !href.startsWith('/'), `${path}: ${href}`);
    }
  }
});

// What changes a grade, seen in the browser as an admin: manual evidence
// uploaded through the control's form; the plain host encrypting its disk
// (one more collection cycle); and the as-of date, which still shows the
// grade as it stood before. Then an ISMS document registered on the cycle
// page. Runs after pages.test.mjs (dashboard_test.sh
// orders the files): it changes the fleet those tests read.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  agentCycle, env, screenshot, signedIn, TIMEOUT_MS,
} from './support.mjs';

const T = { timeout: 6 * TIMEOUT_MS };
let browser;
let page;
let open;

before(async () => {
  ({ browser, page, open } = await signedIn(
    env('EVIDENTIA_ADMIN_USER'), env('EVIDENTIA_ADMIN_PASSWORD')));
});
after(async () => { await browser?.close(); });

// The grade shown on a control's page, in words.
async function grade() {
  return (await page.textContent('p.lead .grade')).trim();
}

// Uploads a document as manual evidence of `control` through its form.
async function upload(control, name) {
  const file = join(env('TMPDIR'), name);
  writeFileSync(file, `${name}: approved by the board\n`);
  await open(`/controls/${control}`);
  const form = page.locator('form#manual-evidence');
  await form.locator('input[name=document]').setInputFiles(file);
  await form.locator('input[name=valid_until]').fill('2099-12-31');
  await form.locator('input[name=note]').fill('uploaded in the browser test');
  const loaded = page.waitForEvent('load');
  await form.locator('[type=submit]').click();
  await loaded;
  assert.equal(new URL(page.url()).pathname, `/controls/${control}`);
  assert.match(await page.textContent('p.notice'), /signed and recorded/);
  assert.match(await page.textContent('main'), new RegExp(name.replace('.', '\\.')));
}

test('manual evidence uploaded in the browser changes a document control\'s grade', T, async () => {
  await open('/controls/a.5.1');
  assert.equal(await grade(), 'major nonconformity');
  await upload('a.5.1', 'security-policy.txt');
  assert.equal(await grade(), 'compliant');
  await screenshot(page, 'control-a.5.1-after-upload');
});

test('the plain host encrypts its disk: a.8.24 is no longer a nonconformity after its next cycle', T, async () => {
  await open('/controls/a.8.24');
  assert.match(await grade(), /nonconformity/);
  await upload('a.8.24', 'encryption-standard.txt');
  await agentCycle(env('EVIDENTIA_PLAIN_STATE'), env('EVIDENTIA_ENCRYPTED_ROOT'));
  await open('/controls/a.8.24');
  // Both hosts encrypt; the LUKS1 header still warns: an opportunity for
  // improvement, which counts as compliant.
  assert.match(await grade(), /^(compliant|opportunity for improvement)$/);
  assert.equal(await page.locator('#failing-hosts .state.fail').count(), 0);
  assert.ok(await page.locator('svg#timeline rect').count() > 0, 'no timeline');
  await screenshot(page, 'control-a.8.24-fixed');
});

test('the as-of date still shows the grade as it stood before', T, async () => {
  const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
  await open(`/controls/a.8.24?at=${yesterday}`);
  assert.equal(await grade(), 'major nonconformity');
  assert.match(await page.textContent('.asof.past'), /as it stood at/);
  // Links keep the date.
  const link = await page.locator('nav a', { hasText: 'Controls' }).getAttribute('href');
  assert.equal(link, `/controls?at=${yesterday}`);
  await open(`/controls?at=${yesterday}`);
  assert.equal(
    (await page.textContent('table#controls tr[data-control="a.5.1"] td.grade')).trim(),
    'major nonconformity');
  await open('/controls');
  assert.equal(
    (await page.textContent('table#controls tr[data-control="a.5.1"] td.grade')).trim(),
    'compliant');
  await open('/');
  await screenshot(page, 'overview-after-changes');
});

test('an ISMS document version uploaded on the cycle page is registered', T, async () => {
  const file = join(env('TMPDIR'), 'information-security-policy.pdf');
  writeFileSync(file, '%PDF-1.4 the information security policy\n');
  await open('/cycle');
  const row = page.locator('table#documents tr[data-document="policy"]');
  assert.match(await row.textContent(), /missing/);
  const form = page.locator('form#document-upload');
  await form.locator('select[name=which]').selectOption('5.2 policy');
  await form.locator('input[name=document]').setInputFiles(file);
  await form.locator('input[name=version]').fill('3');
  await form.locator('input[name=approved_by]').fill('The Board');
  await form.locator('input[name=approved_on]').fill('2026-01-15');
  await form.locator('input[name=review_by]').fill('2099-01-15');
  const loaded = page.waitForEvent('load');
  await form.locator('[type=submit]').click();
  await loaded;
  assert.equal(new URL(page.url()).pathname, '/cycle');
  assert.match(await page.textContent('p.notice'), /signed and registered/);
  const text = await row.textContent();
  assert.match(text, /present/);
  assert.match(text, /3 \(information-security-policy\.pdf\)/);
  assert.match(text, /The Board, 2026-01-15/);
  await screenshot(page, 'cycle-document-registered');
});

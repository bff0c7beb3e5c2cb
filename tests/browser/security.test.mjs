// What the browser is told on every page (CSP, nosniff, referrer policy),
// CSRF fields on every POST form and refusal without them, and the admin
// pages closed to viewers and auditors.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  env, launch, login, loginOk, newPage, pageFetch, TIMEOUT_MS,
} from './support.mjs';

const T = { timeout: 6 * TIMEOUT_MS };
const pages = () => ['/', '/controls', '/controls/a.8.24', '/hosts',
  `/hosts/${env('EVIDENTIA_PLAIN_HOST')}`, '/admin/users'];
let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

function directives(csp) {
  const map = new Map();
  for (const part of csp.split(';')) {
    const [name, ...values] = part.trim().split(/\s+/);
    if (name) map.set(name.toLowerCase(), values);
  }
  return map;
}

function checkHeaders(path, headers) {
  const csp = headers['content-security-policy'];
  assert.ok(csp, `${path}: no Content-Security-Policy`);
  const d = directives(csp);
  assert.deepEqual(d.get('default-src'), ["'self'"], `${path}: ${csp}`);
  assert.deepEqual(d.get('frame-ancestors'), ["'none'"], `${path}: ${csp}`);
  assert.equal(headers['x-content-type-options'], 'nosniff', path);
  assert.match(headers['referrer-policy'] ?? '',
    /^(no-referrer|same-origin|strict-origin|strict-origin-when-cross-origin)$/,
    `${path}: Referrer-Policy`);
}

test('every page sends CSP, nosniff and a referrer policy', T, async () => {
  const page = await newPage(browser);
  const loginPage = await page.goto('/login');
  checkHeaders('/login', await loginPage.allHeaders());
  await loginOk(page, env('EVIDENTIA_ADMIN_USER'), env('EVIDENTIA_ADMIN_PASSWORD'));
  for (const path of pages()) {
    const response = await page.goto(path);
    assert.equal(response.status(), 200, `GET ${path} as admin`);
    checkHeaders(path, await response.allHeaders());
  }
  await page.context().close();
});

test('every POST form carries a csrf field', T, async () => {
  const page = await newPage(browser);
  await loginOk(page, env('EVIDENTIA_ADMIN_USER'), env('EVIDENTIA_ADMIN_PASSWORD'));
  for (const path of pages()) {
    await page.goto(path);
    const forms = await page.locator('form').evaluateAll((all) => all.map((f) => ({
      action: f.getAttribute('action'),
      method: f.method,
      csrf: f.querySelector('input[type=hidden][name=csrf]')?.value ?? '',
    })));
    for (const form of forms.filter((f) => f.method === 'post')) {
      assert.notEqual(form.csrf, '', `${path}: the form to ${form.action} has no csrf`);
    }
  }
  await page.context().close();
});

test('a POST without the csrf field, or with a wrong one, is refused', T, async () => {
  const page = await newPage(browser);
  // Before a session: the login form's own.
  await page.goto('/login');
  const anonymous = await pageFetch(page, '/login', {
    method: 'POST',
    form: { user: env('EVIDENTIA_ADMIN_USER'), password: env('EVIDENTIA_ADMIN_PASSWORD') },
  });
  assert.equal(anonymous.status, 403, 'POST /login without csrf');
  await loginOk(page, env('EVIDENTIA_ADMIN_USER'), env('EVIDENTIA_ADMIN_PASSWORD'));
  const csrf = await page.locator('form[action="/logout"] input[name=csrf]').inputValue();
  const wrong = csrf.slice(0, -1) + (csrf.endsWith('A') ? 'B' : 'A');
  for (const form of [{}, { csrf: '' }, { csrf: wrong }]) {
    const refused = await pageFetch(page, '/logout', { method: 'POST', form });
    assert.equal(refused.status, 403, `POST /logout with ${JSON.stringify(form)}`);
  }
  const still = await page.goto('/');
  assert.equal(still.status(), 200);
  assert.equal(new URL(page.url()).pathname, '/', 'a refused POST ended the session');
  await page.context().close();
});

test('/admin/users: the admin only', T, async () => {
  const page = await newPage(browser);
  await loginOk(page, env('EVIDENTIA_ADMIN_USER'), env('EVIDENTIA_ADMIN_PASSWORD'));
  assert.equal((await page.goto('/admin/users')).status(), 200);
  await page.context().close();
  for (const role of ['VIEWER', 'AUDITOR']) {
    const other = await newPage(browser);
    const response = await login(other, env(`EVIDENTIA_${role}_USER`),
      env(`EVIDENTIA_${role}_PASSWORD`));
    assert.equal(response.status(), 303, `${role} login`);
    assert.equal((await other.goto('/admin/users')).status(), 403, `${role}: /admin/users`);
    await other.context().close();
  }
});

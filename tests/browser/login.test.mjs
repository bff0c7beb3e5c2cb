// Signing in and out of the dashboard: the form, a wrong password, the
// session cookie, logout ending the session on the server, and an account
// locked after 5 failures.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  env, launch, login, loginOk, newPage, pageFetch, screenshot, TIMEOUT_MS,
} from './support.mjs';

const T = { timeout: 6 * TIMEOUT_MS };
let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('the login form', T, async () => {
  const page = await newPage(browser);
  const response = await page.goto('/login');
  assert.equal(response.status(), 200);
  const form = page.locator('form#login');
  assert.equal((await form.getAttribute('method'))?.toLowerCase(), 'post');
  assert.equal(await form.locator('input[name=user]').count(), 1);
  assert.equal(await form.locator('input[name=password]').getAttribute('type'), 'password');
  assert.equal(await form.locator('input[name=csrf]').getAttribute('type'), 'hidden');
  assert.ok((await form.locator('input[name=csrf]').getAttribute('value'))?.length > 0,
    'the csrf field is empty');
  assert.equal(await form.locator('[type=submit]').count(), 1);
  await screenshot(page, 'login');
  await page.context().close();
});

test('a wrong password: the form again, with the error', T, async () => {
  const page = await newPage(browser);
  const response = await login(page, env('EVIDENTIA_VIEWER_USER'), 'not-the-password-at-all');
  assert.notEqual(response.status(), 303);
  assert.match(await page.textContent('p.error'), /wrong user name or password/);
  assert.equal(await page.locator('form#login').count(), 1);
  assert.equal((await page.context().cookies()).filter((c) => c.name === '__Host-evidentia-session')
    .length, 0, 'a failed login set a session cookie');
  await screenshot(page, 'login-wrong-password');
  await page.context().close();
});

test('an unknown user gets the same answer', T, async () => {
  const page = await newPage(browser);
  const response = await login(page, 'nobody-by-this-name', 'not-the-password-at-all');
  assert.notEqual(response.status(), 303);
  assert.match(await page.textContent('p.error'), /wrong user name or password/);
  await page.context().close();
});

test('signing in: 303 to the overview, and the session cookie', T, async () => {
  const page = await newPage(browser);
  await loginOk(page, env('EVIDENTIA_VIEWER_USER'), env('EVIDENTIA_VIEWER_PASSWORD'));
  const cookies = (await page.context().cookies()).filter(
    (c) => c.name === '__Host-evidentia-session');
  assert.equal(cookies.length, 1, 'no __Host-evidentia-session cookie');
  const [cookie] = cookies;
  assert.equal(cookie.httpOnly, true, 'the session cookie is not HttpOnly');
  assert.equal(cookie.secure, true, 'the session cookie is not Secure');
  assert.equal(cookie.sameSite, 'Strict');
  assert.equal(cookie.path, '/');
  assert.ok(cookie.value.length >= 16, 'a short session id');
  await page.context().close();
});

test('every role can sign in', T, async () => {
  for (const role of ['ADMIN', 'AUDITOR']) {
    const page = await newPage(browser);
    const response = await login(page, env(`EVIDENTIA_${role}_USER`),
      env(`EVIDENTIA_${role}_PASSWORD`));
    assert.equal(response.status(), 303, `${role}: HTTP ${response.status()}`);
    await page.context().close();
  }
});

test('without a session, the pages lead to the login form', T, async () => {
  const page = await newPage(browser);
  for (const path of ['/', '/controls', '/hosts', '/admin/users']) {
    await page.goto(path);
    assert.equal(new URL(page.url()).pathname, '/login', `${path} without a session`);
  }
  await page.context().close();
});

test('logging out ends the session on the server', T, async () => {
  const page = await newPage(browser);
  await loginOk(page, env('EVIDENTIA_VIEWER_USER'), env('EVIDENTIA_VIEWER_PASSWORD'));
  const [session] = (await page.context().cookies()).filter(
    (c) => c.name === '__Host-evidentia-session');
  const logout = page.locator('form[action="/logout"]');
  assert.equal((await logout.getAttribute('method'))?.toLowerCase(), 'post');
  const loaded = page.waitForEvent('load');
  await logout.locator('[type=submit]').click();
  await loaded;
  await page.goto('/');
  assert.equal(new URL(page.url()).pathname, '/login', 'still signed in after logout');
  // The old cookie, put back, opens nothing.
  await page.context().addCookies([session]);
  await page.goto('/');
  assert.equal(new URL(page.url()).pathname, '/login', 'the session outlived its logout');
  await page.context().close();
});

test('logout without its csrf field is refused', T, async () => {
  const page = await newPage(browser);
  await loginOk(page, env('EVIDENTIA_VIEWER_USER'), env('EVIDENTIA_VIEWER_PASSWORD'));
  const refused = await pageFetch(page, '/logout', { method: 'POST', form: {} });
  assert.equal(refused.status, 403);
  const page2 = await page.goto('/');
  assert.equal(page2.status(), 200, 'the refused logout ended the session');
  assert.equal(new URL(page.url()).pathname, '/');
  await page.context().close();
});

test('5 wrong passwords lock the account: 429, even for the right one', T, async () => {
  const user = env('EVIDENTIA_LOCKOUT_USER');
  const page = await newPage(browser);
  for (let i = 1; i <= 5; i++) {
    const response = await login(page, user, `wrong-password-number-${i}`);
    assert.notEqual(response.status(), 303);
    assert.match(await page.textContent('p.error'), /wrong user name or password/,
      `failure ${i}`);
  }
  const locked = await login(page, user, env('EVIDENTIA_LOCKOUT_PASSWORD'));
  assert.equal(locked.status(), 429);
  assert.match(await page.textContent('body'), /too many failed logins/);
  await screenshot(page, 'login-locked');
  // One account only: another still signs in from the same browser.
  await page.context().clearCookies();
  await loginOk(page, env('EVIDENTIA_VIEWER_USER'), env('EVIDENTIA_VIEWER_PASSWORD'));
  await page.context().close();
});

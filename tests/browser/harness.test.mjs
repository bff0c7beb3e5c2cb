// The harness itself, without a collector: Chromium starts through
// support.mjs, trusts a server by the SPKI pin spki_pin.sh computes (and
// refuses it without the pin), and takes a screenshot. A server the way the
// collector's is made: a private CA and a certificate it issued for
// 127.0.0.1. When this fails, the dashboard tests cannot pass either.
//   node --test harness.test.mjs   (SCREENSHOT_DIR: where the PNG goes)
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { launch, newPage, screenshot, TIMEOUT_MS } from './support.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'evidentia-harness-'));
const openssl = (...args) => execFileSync('openssl', args, { cwd: work, stdio: 'pipe' });
const pinOf = (cert) =>
  execFileSync('sh', [join(here, 'spki_pin.sh'), join(work, cert)]).toString().trim();

let server;
let pin;
let otherPin;

before(async () => {
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
    '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2',
    '-subj', '/CN=harness test CA');
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  writeFileSync(join(work, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key',
    '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'ext.cnf');
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
    '-nodes', '-keyout', 'other.key', '-out', 'other.pem', '-days', '2',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1');
  pin = pinOf('server.pem');
  otherPin = pinOf('other.pem');
  assert.match(pin, /^[A-Za-z0-9+/]{43}=$/);
  assert.notEqual(pin, otherPin);

  server = createServer({
    key: readFileSync(join(work, 'server.key')),
    cert: readFileSync(join(work, 'server.pem')),
  }, (req, res) => {
    res.writeHead(200, {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Security-Policy': "default-src 'self'; frame-ancestors 'none'",
    });
    res.end('<!doctype html><title>harness</title><h1 id="hello">Hello from 127.0.0.1</h1>');
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.env.EVIDENTIA_WEB_URL = `https://127.0.0.1:${server.address().port}`;
});

after(async () => {
  if (server) {
    server.closeAllConnections?.();
    await new Promise((resolve) => server.close(resolve));
  }
  rmSync(work, { recursive: true, force: true });
});

test('Chromium loads the page of a certificate it has the pin of', { timeout: 4 * TIMEOUT_MS }, async () => {
  const browser = await launch({ spki: [pin] });
  try {
    const page = await newPage(browser);
    const response = await page.goto('/');
    assert.equal(response.status(), 200);
    assert.equal(await page.textContent('h1#hello'), 'Hello from 127.0.0.1');
    const security = await response.securityDetails();
    assert.equal(security?.protocol, 'TLS 1.3');
    const png = readFileSync(await screenshot(page, 'harness'));
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  } finally {
    await browser.close();
  }
});

test('Chromium refuses it with the pin of another key', { timeout: 4 * TIMEOUT_MS }, async () => {
  const browser = await launch({ spki: [otherPin] });
  try {
    const page = await newPage(browser);
    await assert.rejects(page.goto('/'), /ERR_CERT_AUTHORITY_INVALID/);
  } finally {
    await browser.close();
  }
});

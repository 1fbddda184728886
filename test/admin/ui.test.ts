// The quarantine page in a real browser: Debian's chromium driven by playwright-core, against a real
// gateway and downstream sink. Screenshots go to test-artifacts/.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { GTUBE, message, startTestGateway, type TestGateway } from '../helpers/gateway.ts';

const TOKEN = 'ui-test-token-0123456789abcdef';
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = 'test-artifacts';

let g: TestGateway;
let context: BrowserContext;
let page: Page;
let profile: string;
const pageErrors: string[] = [];

beforeAll(async () => {
  // Never skipped: without the browser the page is untested, so say how to get it.
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (npm test does it as root)`);
  g = await startTestGateway({ scores: { GTUBE: 12 }, admin: { enabled: true, token: TOKEN } });
  await g.send({ raw: message({ subject: 'Fine', body: 'Nothing to see.' }) });
  for (const subject of ['Cheap watches', 'You have won', 'Invoice overdue']) {
    await g.send({ raw: message({ subject, body: `${GTUBE}\r\n<p>Click <a href="http://phish.example/">here</a></p>` }) });
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  profile = mkdtempSync(join(tmpdir(), 'sluice-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = context.pages()[0] ?? (await context.newPage());
  // Any script error or CSP violation on the page fails the test.
  page.on('pageerror', (err) => pageErrors.push(err.message));
  // (The one wrong token tried on purpose is logged by the browser as a failed 401 load.)
  page.on('console', (msg) => { if (msg.type() === 'error' && !msg.text().includes('401 (Unauthorized)')) pageErrors.push(msg.text()); });
}, 60_000);

afterAll(async () => {
  await context?.close();
  await g?.stop();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

describe('quarantine page', () => {
  it('signs in with the token, shows why a message was held, releases it and sees it gone', async () => {
    await page.goto(`http://127.0.0.1:${g.adminPort}/`);
    await page.getByLabel('Admin token').fill('not-the-right-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.locator('#login-error').textContent()).toContain('not accepted');

    await page.getByLabel('Admin token').fill(TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const rows = page.locator('#list tbody tr');
    await expect.poll(() => rows.count()).toBe(3);
    expect(await page.locator('#page-text').textContent()).toBe('1–3 of 3');
    expect(await page.locator('#totals').textContent()).toMatch(/Quarantined\s*3/);
    expect(await page.locator('#chart svg rect.bar.quarantine').count()).toBeGreaterThan(0);
    await page.screenshot({ path: join(ARTIFACTS, 'quarantine-list.png'), fullPage: true });

    // Open one: symbols, a text preview where the HTML is only text, nothing loaded from elsewhere.
    await page.getByRole('button', { name: 'You have won' }).click();
    const dialog = page.getByRole('dialog');
    await expect.poll(() => dialog.isVisible()).toBe(true);
    expect(await dialog.locator('#detail-symbols').textContent()).toContain('GTUBE');
    expect(await dialog.locator('#preview').textContent()).toContain('<a href="http://phish.example/">');
    expect(await page.locator('#preview a').count()).toBe(0);
    await page.screenshot({ path: join(ARTIFACTS, 'quarantine-detail.png') });

    const before = g.sink.messages.length;
    await dialog.getByRole('button', { name: 'Release', exact: true }).click();
    await expect.poll(() => page.locator('#status').textContent()).toBe('1 message released.');
    await expect.poll(() => rows.count()).toBe(2);
    expect(await page.locator('#list tbody').textContent()).not.toContain('You have won');
    const delivered = (await g.sink.waitFor(before + 1))[before];
    expect(delivered.raw.toString()).toContain('Subject: You have won');
    expect(g.logs.find((l) => l.msg === 'quarantine release')).toMatchObject({ who: 'admin' });
  }, 60_000);

  it('filters, and deletes several at once', async () => {
    await page.getByLabel('Sender').fill('nobody@nowhere.example');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => page.locator('#empty').isVisible()).toBe(true);
    await page.getByRole('button', { name: 'Clear' }).click();
    const rows = page.locator('#list tbody tr');
    await expect.poll(() => rows.count()).toBe(2);

    page.once('dialog', (d) => void d.accept());
    await page.getByLabel('Select all on this page').check();
    expect(await page.locator('#selection-count').textContent()).toBe('2 selected');
    await page.getByRole('button', { name: 'Delete selected' }).click();
    await expect.poll(() => page.locator('#status').textContent()).toBe('2 messages deleted.');
    await expect.poll(() => rows.count()).toBe(0);
    expect((await g.gateway.core.quarantine.list({ limit: 10 })).total).toBe(0);
    await page.screenshot({ path: join(ARTIFACTS, 'quarantine-empty.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  }, 60_000);
});

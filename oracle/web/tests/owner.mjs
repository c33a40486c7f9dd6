// Drives Debian's Chromium (headless, through playwright-core) against the owner's page of
// one hotspot: waits for its earnings chart, findings and verdict tables, counts what is
// explained, saves a screenshot. Prints a JSON summary; exits non-zero on any page error.
//   node owner.mjs URL SCREENSHOT.png
import { launch } from './browser.mjs';

const [url, shot] = process.argv.slice(2);
const browser = await launch();
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 1400 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url);
  try {
    await page.waitForSelector('li.code', { state: 'attached', timeout: 20000 });
  } catch (e) {
    throw new Error(`${e.message}; the page shows: ${await page.locator('body').innerText()}; errors: ${errors}`);
  }
  const glossary = await page.$$eval('li.code', (els) => els.map(e => ({
    code: e.querySelector('code').textContent, words: e.textContent.length })));
  const codeRows = await page.$$eval('tr.code-row', (rows) => rows.map(r => ({
    code: r.querySelector('code').textContent,
    explanation: r.querySelector('.explanation').textContent.trim(),
    action: r.querySelector('.action').textContent.trim(),
  })));
  const verdictRows = await page.$$eval('tr.verdict', (rows) => rows.map(r => ({
    code: r.querySelector('code').textContent,
    explanation: r.querySelector('.explanation').textContent.trim(),
  })));
  const bars = await page.locator('rect.earning').count();
  const findings = await page.$$eval('.finding', (els) => els.map(e => e.textContent));
  const banner = await page.locator('.banner').textContent();
  await page.locator('details').evaluate((d) => { d.open = true; });
  await page.screenshot({ path: shot, fullPage: true });
  console.log(JSON.stringify({ glossary, codeRows, verdictRows, bars, findings, banner, errors }));
  if (errors.length) process.exitCode = 1;
} finally {
  await browser.close();
}

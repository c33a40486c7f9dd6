// Drives Debian's Chromium (headless, through playwright-core) against the oracle's web map:
// waits for hexes, clicks the busiest hex, clicks its first hotspot, waits for the hotspot's
// verdict rows, saves a screenshot. Prints a JSON summary; exits non-zero on any failure.
//   node map.mjs URL SCREENSHOT.png
import { launch } from './browser.mjs';

const [url, shot] = process.argv.slice(2);
const browser = await launch();
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url);
  await page.waitForSelector('path.hex', { timeout: 20000 });
  await page.waitForSelector('path.land', { timeout: 20000 });
  const hexes = await page.locator('path.hex').count();
  // The hex with the most valid witnesses (its title carries the figures).
  const best = await page.$$eval('path.hex', (els) => {
    let top = null, most = -1;
    for (const el of els) {
      const m = /(\d+) valid witnesses/.exec(el.querySelector('title').textContent);
      const n = m ? Number(m[1]) : 0;
      if (n > most) { most = n; top = el.dataset.cell; }
    }
    return top;
  });
  await page.locator(`path.hex[data-cell="${best}"]`).dispatchEvent('click');
  await page.waitForSelector('.hotspot', { timeout: 10000 });
  const hotspots = await page.locator('.hotspot').count();
  await page.locator('.hotspot').first().click();
  await page.waitForSelector('tr.verdict', { timeout: 10000 });
  const verdicts = await page.locator('tr.verdict').count();
  const reasons = await page.$$eval('tr.verdict td:nth-child(3)', (tds) => [...new Set(tds.map(t => t.textContent.replace(' ★', '')))]);
  const filled = await page.$$eval('path.hex', (els) => els.filter(e => e.getAttribute('fill') !== '#c9c9c9').length);
  await page.screenshot({ path: shot });
  // Coloured by device packets carried: the same hexes, each title counting its packets.
  await page.locator('input[name=metric][value=packets]').check();
  const packetTitles = await page.$$eval('path.hex title', (ts) => ts.filter(t => / device packets carried$/.test(t.textContent)).length);
  // Coloured by data carried: every title counts its credits.
  await page.locator('input[name=metric][value=data]').check();
  const dataTitles = await page.$$eval('path.hex title', (ts) => ts.filter(t => / data credits in \d+ device packets carried$/.test(t.textContent)).length);
  await page.locator('input[name=metric][value=coverage]').check();
  console.log(JSON.stringify({ hexes, filled, cell: best, hotspots, verdicts, reasons, packetTitles, dataTitles, errors }));
  if (errors.length) process.exitCode = 1;
} finally {
  await browser.close();
}

// The owner's page: one hotspot's earnings over epochs, its findings and verdicts in plain
// words (from /api/explain: the same words `hotspot-agent status` prints), every code
// explained. Everything comes from the explorer's JSON API; locations are public-resolution.
'use strict';

const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
// The explorer gives each client a couple of database reads at once and refuses more (503):
// this page asks one at a time, and asks again a little later when refused.
const api = async (path) => {
  for (let attempt = 0; ; attempt++) {
    const r = await fetch(path);
    const body = await r.json().catch(() => ({}));
    if (r.ok) return body;
    if (r.status !== 503 || attempt >= 5) throw new Error(body.error || r.statusText);
    await new Promise((done) => setTimeout(done, 400 * (attempt + 1)));
  }
};
// Reward amounts are in base units of a 6-decimal token.
const tokens = (n) => (Number(n) / 1e6).toLocaleString('en', { maximumFractionDigits: 2 });
const page = document.getElementById('page');
const key = new URLSearchParams(location.search).get('key');

function askForKey() {
  page.innerHTML = `<h1>My hotspot</h1><form method="get"><p>Your hotspot's key (base58, what
    <code>hotspot-agent info</code> prints):</p><input name="key" autofocus> <button>Show</button></form>`;
}

// Earnings per epoch: coverage (beacons and witnesses) and data, stacked.
function chart(epochs) {
  if (!epochs.length) return '<p class="muted">No earnings yet: rewards appear once an epoch closes.</p>';
  const w = 900, h = 180, pad = 34;
  const max = Math.max(...epochs.map(e => e.total), 1);
  const bw = Math.max(2, Math.min(40, (w - pad) / epochs.length - 2));
  const bars = epochs.map((e, i) => {
    const x = pad + i * (bw + 2);
    const cov = e.beacon_amount + e.witness_amount;
    const hc = (cov / max) * (h - 30), hd = (e.data_amount / max) * (h - 30);
    const title = `epoch ${e.epoch}: ${tokens(e.total)} tokens (coverage ${tokens(cov)}, data ${tokens(e.data_amount)} for ${e.dc} credits)`;
    return `<g><title>${esc(title)}</title>
      <rect class="earning coverage" x="${x}" y="${h - 20 - hc}" width="${bw}" height="${hc}"></rect>
      <rect class="data" x="${x}" y="${h - 20 - hc - hd}" width="${bw}" height="${hd}"></rect>
      ${epochs.length <= 30 ? `<text x="${x}" y="${h - 6}">${e.epoch}</text>` : ''}</g>`;
  }).join('');
  return `<svg id="chart" width="${w}" height="${h}" role="img" aria-label="earnings per epoch">
    <text x="0" y="12">${tokens(max)}</text><text x="0" y="${h - 20}">0</text>${bars}</svg>
    <div class="muted"><span style="color:#2563eb">■</span> coverage <span style="color:#16a34a">■</span> data carried</div>`;
}

async function show() {
  const k = encodeURIComponent(key);
  const h = await api(`/api/hotspots/${k}`);
  const explain = await api('/api/explain');
  const rewards = await api(`/api/hotspots/${k}/rewards`);
  // Reports come oldest first: ask from the newest closed epoch's start (all, before any).
  const since = await api('/api/epochs/0').then(e => e.start_ns).catch(() => 0);
  const reports = await api(`/api/hotspots/${k}/reports?page_size=1000&since_ns=${since}`);
  const findings = await api(`/api/findings?hotspot=${k}`);
  const words = new Map(explain.codes.map(c => [c.code, c]));
  const suspended = findings.findings.filter(f => f.suspended);
  const banner = suspended.length
    ? `<div class="banner bad">Suspended in epoch${suspended.length > 1 ? 's' : ''} ${[...new Set(suspended.map(f => f.epoch))].join(', ')}: detection found the problems below, and a suspended hotspot earns nothing that epoch.</div>`
    : findings.findings.length
      ? '<div class="banner ok">Not suspended: detection noted what is below, which has cost nothing.</div>'
      : '<div class="banner ok">Not suspended: no finding against this hotspot.</div>';
  // Verdicts grouped by code, most frequent first.
  const counts = new Map();
  for (const r of reports.reports) counts.set(r.reason, (counts.get(r.reason) || 0) + 1);
  const codeRows = [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([code, n]) => {
    const w = words.get(code);
    return `<tr class="code-row ${code === 'valid' ? 'valid' : 'invalid'}"><td><code>${esc(code)}</code></td><td>${n}</td>
      <td class="explanation">${esc(w ? w.what : 'No explanation for this code in this version.')}</td><td class="action">${esc(w ? w.action : '')}</td></tr>`;
  }).join('');
  const recent = reports.reports.slice(-50).reverse().map(r => `<tr class="verdict ${r.valid ? 'valid' : 'invalid'}">
      <td>${esc(r.kind)}</td><td>${new Date(r.timestamp_ns / 1e6).toISOString().replace('T', ' ').slice(0, 19)}</td>
      <td><code>${esc(r.reason)}</code></td><td class="explanation">${esc(r.explanation || '')}</td></tr>`).join('');
  const found = findings.findings.map(f => `<div class="finding"><b>Epoch ${f.epoch}: <code>${esc(f.code)}</code>${f.suspended ? ' (suspended)' : ''}</b><br>
      ${esc(f.explanation)}<br><span class="muted">Evidence: ${esc(f.evidence)}</span><br><span class="action">${esc(f.action)}</span></div>`).join('');
  const glossary = explain.codes.map(c => `<li class="code"><code>${esc(c.code)}</code>: ${esc(c.what)} <span class="action">${esc(c.action)}</span></li>`).join('');
  page.innerHTML = `<h1>Hotspot ${esc(h.name || '')} <span class="muted">${esc(h.pubkey)}</span></h1>
    <div class="muted">owner ${esc(h.owner)} · area ${esc(h.location || 'not asserted')} (shown at the public resolution) ·
      gain ${h.gain_ddbi / 10} dBi · elevation ${h.elevation_m} m</div>
    ${banner}
    <h2>Earnings: ${tokens(rewards.lifetime)} tokens in all</h2>${chart(rewards.epochs)}
    <h2>Findings</h2>${found || '<p>None: detection found nothing wrong with this hotspot.</p>'}
    <h2>Verdicts, and what they mean</h2>
    <table><tr><th>verdict</th><th>reports</th><th>what happened</th><th>what you can do</th></tr>${codeRows || '<tr><td colspan=4>No reports yet.</td></tr>'}</table>
    <h2>Latest reports</h2>
    <table><tr><th>kind</th><th>time (UTC)</th><th>verdict</th><th>in words</th></tr>${recent || '<tr><td colspan=4>No reports yet.</td></tr>'}</table>
    <details><summary>Every verdict and finding explained</summary><ul>${glossary}</ul></details>`;
}

if (!key) askForKey();
else show().catch(e => { page.innerHTML = `<p class="invalid">${esc(e.message)}</p>`; });

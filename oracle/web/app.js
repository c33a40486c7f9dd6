// The hexproof coverage map: H3 hexes from /api/hexes drawn in SVG (Web Mercator) over
// shipped country outlines; details from the JSON API; live verdicts from /api/events.
'use strict';
const svg = document.getElementById('map');
const view = document.getElementById('view');
const hexLayer = document.getElementById('hexes');
const NS = 'http://www.w3.org/2000/svg';
// maxRes: the explorer's public resolution (it serves no finer cell; from /api/stats).
const state = { scale: 2, tx: 0, ty: 0, res: 0, maxRes: 8, hexes: [], metric: 'coverage', selected: null, fitted: false };

// Web Mercator in degrees-like units: x = lng, y = -merc(lat).
const project = ([lat, lng]) => {
  const c = Math.max(-85, Math.min(85, lat)) * Math.PI / 180;
  return [lng, -Math.log(Math.tan(Math.PI / 4 + c / 2)) * 180 / Math.PI];
};
const pathOf = (points) => 'M' + points.map(p => project(p).map(v => v.toFixed(4)).join(',')).join('L') + 'Z';
const fmt = (n) => Number(n).toLocaleString('en-US');
const esc = (s) => String(s).replace(/[&<>"]/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]));
const api = async (path) => {
  const r = await fetch(path);
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
};

function applyView() {
  view.setAttribute('transform', `translate(${state.tx},${state.ty}) scale(${state.scale})`);
  // The finest resolution whose hexes are still ~12 px across: an H3 edge is ~10 degrees at
  // resolution 0 and shrinks by sqrt(7) per resolution.
  const res = Math.max(0, Math.min(state.maxRes, 10, Math.floor(Math.log(state.scale * 10 / 12) / Math.log(Math.sqrt(7)))));
  document.getElementById('res').textContent = res;
  if (res !== state.res) { state.res = res; loadHexes(); }
}

async function loadWorld() {
  const world = await api('/world-110m.json');
  const g = document.getElementById('land');
  // Rings that cross the antimeridian jump by ~360 degrees: start a new subpath there.
  const d = world.rings.map(r => {
    let out = '', prev = null;
    for (const [lng, lat] of r) {
      const [x, y] = project([lat, lng]);
      out += (prev === null || Math.abs(lng - prev) > 180 ? 'M' : 'L') + x.toFixed(2) + ',' + y.toFixed(2);
      prev = lng;
    }
    return out;
  }).join('');
  const p = document.createElementNS(NS, 'path');
  p.setAttribute('d', d); p.setAttribute('class', 'land');
  g.appendChild(p);
}

// What a hex is coloured by: coverage (valid witnesses), lifetime reward, device packets its
// hotspots carried (copies the router bought from them), or the data credits those cost.
const METRIC = { coverage: 'valid_witnesses', reward: 'reward', packets: 'packets', data: 'dc' };

function colour(h, max) {
  const v = h[METRIC[state.metric]] || 0;
  const t = max > 0 ? Math.sqrt(v / max) : 0;
  if (v === 0) return '#c9c9c9';
  const hue = 50 + t * 150; // yellow (little) to teal (much)
  return `hsl(${hue}, 70%, ${55 - t * 20}%)`;
}

function drawHexes() {
  const key = METRIC[state.metric];
  const max = Math.max(0, ...state.hexes.map(h => h[key]));
  hexLayer.replaceChildren(...state.hexes.map(h => {
    const p = document.createElementNS(NS, 'path');
    p.setAttribute('d', pathOf(h.boundary));
    p.setAttribute('class', 'hex' + (h.cell === state.selected ? ' selected' : ''));
    p.setAttribute('fill', colour(h, max));
    p.dataset.cell = h.cell;
    const t = document.createElementNS(NS, 'title');
    t.textContent = `${h.cell}: ${h.hotspots} hotspots, ${h.valid_witnesses} valid witnesses, reward ${h.reward}, ${h.dc || 0} data credits in ${h.packets || 0} device packets carried`;
    p.appendChild(t);
    p.addEventListener('click', (e) => { e.stopPropagation(); showHex(h.cell); });
    return p;
  }));
  document.getElementById('legend').innerHTML =
    `<i style="background:#c9c9c9"></i>none<i style="background:${colour({ [key]: 1 }, 100)}"></i>some` +
    `<i style="background:${colour({ [key]: max }, max)}"></i>most (${fmt(max)})`;
}

// Every occupied cell at a resolution: the API gives them in pages.
async function allHexes(res) {
  let hexes = [], token = '';
  do {
    const page = await api(`/api/hexes?res=${res}&page_size=1000&page_token=${token}`);
    hexes = hexes.concat(page.hexes);
    token = page.next_page_token || '';
  } while (token);
  return hexes;
}

async function loadHexes() {
  if (!state.fitted) {
    // Fit the view to the network at a fine resolution, then load what that view needs.
    const fine = await allHexes(Math.min(8, state.maxRes));
    if (fine.length) { state.fitted = true; fit(fine); return; }
  }
  state.hexes = await allHexes(state.res);
  drawHexes();
}

function fit(hexes) {
  const pts = hexes.flatMap(h => h.boundary.map(project));
  const xs = pts.map(p => p[0]), ys = pts.map(p => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const w = svg.clientWidth, h = svg.clientHeight;
  state.scale = Math.max(1, Math.min(4000, 0.9 * Math.min(w / Math.max(x1 - x0, 1e-3), h / Math.max(y1 - y0, 1e-3))));
  state.tx = w / 2 - state.scale * (x0 + x1) / 2;
  state.ty = h / 2 - state.scale * (y0 + y1) / 2;
  state.res = 0;
  applyView();
}

async function showHex(cell) {
  state.selected = cell; drawHexes();
  const detail = document.getElementById('detail');
  try {
    const h = await api(`/api/hex/${cell}`);
    detail.innerHTML = `<h2>Hex ${esc(h.cell)} (res ${h.resolution})</h2>
      <div>${h.hotspot_count} hotspots${h.next_page_token ? ` (first ${h.hotspots.length} listed)` : ''} · valid beacons ${fmt(h.valid_beacons)} · valid witnesses ${fmt(h.valid_witnesses)} ·
      invalid ${fmt(h.invalid_reports)} · RSSI ${h.rssi_min_ddbm / 10}/${h.rssi_median_ddbm / 10}/${h.rssi_max_ddbm / 10} dBm (min/median/max) ·
      lifetime reward ${fmt(h.lifetime_reward)}</div>
      <table><tr><th>hotspot</th><th>reward</th></tr>${h.hotspots.map(s =>
        `<tr><td class="hotspot" data-key="${esc(s.pubkey)}">${esc(s.name)} <small>${esc(s.pubkey.slice(0, 8))}…</small></td><td>${fmt(s.lifetime_reward)}</td></tr>`).join('')}</table>
      <div id="reports"></div>`;
    detail.querySelectorAll('.hotspot').forEach(el => el.addEventListener('click', () => showReports(el.dataset.key)));
  } catch (e) { detail.textContent = e.message; }
}

async function showReports(key) {
  const box = document.getElementById('reports');
  try {
    const [h, r] = await Promise.all([api(`/api/hotspots/${key}`), api(`/api/hotspots/${key}/reports?page_size=200`)]);
    const rows = r.reports.slice().reverse().map(v => `<tr class="verdict ${v.valid ? 'valid' : 'invalid'}">
      <td>${v.kind}</td><td>${new Date(v.timestamp_ns / 1e6).toISOString().slice(11, 19)}</td>
      <td>${esc(v.reason)}${v.selected ? ' ★' : ''}</td><td title="${esc(v.explanation)}">${esc(v.explanation).slice(0, 60)}</td></tr>`).join('');
    box.innerHTML = `<h2>${esc(h.name)} — reports</h2><div><a class="owner-page" href="/owner?key=${encodeURIComponent(key)}">owner's page: earnings and verdicts explained</a></div><div>owner ${esc(h.owner.slice(0, 8))}… · area ${esc(h.location)} ·
      gain ${h.gain_ddbi / 10} dBi · lifetime reward ${fmt(h.lifetime_reward)}</div>
      <table><tr><th>kind</th><th>time</th><th>verdict</th><th>why</th></tr>${rows || '<tr><td colspan=4>no reports yet</td></tr>'}</table>`;
  } catch (e) { box.textContent = e.message; }
}

async function loadStats() {
  const s = await api('/api/stats');
  if (Number.isInteger(s.public_resolution)) state.maxRes = s.public_resolution;
  document.getElementById('stats').innerHTML =
    `<span>${fmt(s.hotspots)} hotspots</span><span>${fmt(s.valid_beacons)} valid beacons</span>` +
    `<span>${fmt(s.valid_witnesses)} valid witnesses</span><span>${fmt(s.invalid_reports)} invalid</span>` +
    `<span>epoch ${s.latest_epoch}</span><span>rewards ${fmt(s.lifetime_rewards)}</span>`;
}

function follow() {
  const feed = document.getElementById('feed');
  const events = new EventSource('/api/events');
  events.addEventListener('verdict', (e) => {
    const v = JSON.parse(e.data);
    const line = document.createElement('div');
    line.className = v.valid ? 'valid' : 'invalid';
    line.textContent = `${v.kind} ${v.hotspot.slice(0, 8)} ${v.reason}`;
    feed.prepend(line);
    while (feed.childElementCount > 100) feed.lastChild.remove();
  });
  // A refusal (the explorer's live streams are full, 503) ends an EventSource for good: try
  // again a little later instead of showing a dead feed.
  events.addEventListener('error', () => {
    if (events.readyState === EventSource.CLOSED) setTimeout(follow, 15000);
  });
}

// Pan and zoom.
let drag = null;
svg.addEventListener('mousedown', (e) => { drag = { x: e.clientX - state.tx, y: e.clientY - state.ty }; svg.classList.add('dragging'); });
window.addEventListener('mouseup', () => { drag = null; svg.classList.remove('dragging'); });
window.addEventListener('mousemove', (e) => { if (drag) { state.tx = e.clientX - drag.x; state.ty = e.clientY - drag.y; applyView(); } });
svg.addEventListener('wheel', (e) => {
  e.preventDefault();
  const k = Math.exp(-e.deltaY * 0.0015);
  const r = svg.getBoundingClientRect();
  const mx = e.clientX - r.left, my = e.clientY - r.top;
  state.tx = mx - (mx - state.tx) * k; state.ty = my - (my - state.ty) * k; state.scale *= k;
  applyView();
}, { passive: false });
document.querySelectorAll('input[name=metric]').forEach(el => el.addEventListener('change', () => { state.metric = el.value; drawHexes(); }));

(async () => {
  state.tx = svg.clientWidth / 2; state.ty = svg.clientHeight / 2;
  await loadWorld().catch(() => {});
  applyView();
  // The stats first: they say how fine a cell the explorer serves.
  await loadStats().then(loadHexes).catch(e => { document.getElementById('stats').textContent = e.message; });
  follow();
  // One refresh at a time: a slow answer is not asked again on top of itself (the explorer
  // gives each client a few heavy requests at once).
  let refreshing = false;
  setInterval(async () => {
    if (refreshing) return;
    refreshing = true;
    await Promise.all([loadHexes().catch(() => {}), loadStats().catch(() => {})]);
    refreshing = false;
  }, 5000);
})();

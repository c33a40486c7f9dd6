// Regenerates ../world-110m.json: npm install world-atlas@2 topojson-client@3 && node world-outlines.js > ../world-110m.json
// (paths below are relative to the directory npm installed into).
const topo = require('./node_modules/world-atlas/countries-110m.json');
const tc = require('topojson-client');
const fc = tc.feature(topo, topo.objects.countries);
const r = x => Math.round(x * 10) / 10;
const polys = [];
for (const f of fc.features) {
  const g = f.geometry; if (!g) continue;
  const ps = g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
  for (const p of ps) {
    const ring = p[0].map(([x, y]) => [r(x), r(y)]);
    polys.push(ring);
  }
}
process.stdout.write(JSON.stringify({source: "Natural Earth 1:110m country outlines (public domain) via world-atlas 2.0.2 (ISC), outer rings, 0.1 degree", rings: polys}));

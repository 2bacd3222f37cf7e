// The live dashboard at /dashboard: the server's statistics stream
// (GET /api/stats/events: Server-Sent Events, one JSON object a second;
// docs/protocol.md, "Server-Sent Events") as numbers and a chart of the
// last two minutes.
//
// Every numeric field of a sample (nested objects flattened as a.b) but
// its time gets a tile. The chart draws open connections and the edit
// rate: a field that is already a rate (edits_per_s, ..._rate) or, failing
// that, the per-second difference of a counter of acks/ops/changes.
const $ = (id) => document.getElementById(id);
const WINDOW = 120; // Samples kept for the chart.
const COLORS = ['#2563eb', '#db2777'];

const samples = []; // [{t, values}]
let series = null; // [{label, pick(sample, prev)}]

function flatten(obj, prefix = '', out = {}) {
  for (const [k, v] of Object.entries(obj ?? {})) {
    const key = prefix ? `${prefix}.${k}` : k;
    if ((typeof v === 'number' && Number.isFinite(v)) || v === null) out[key] = v; // null: none this interval
    else if (v && typeof v === 'object' && !Array.isArray(v)) flatten(v, key, out);
  }
  return out;
}

function chooseSeries(values) {
  const keys = Object.keys(values);
  const find = (re) => keys.find((k) => re.test(k));
  const out = [];
  const conn = find(/connections|sessions|clients/i);
  if (conn) out.push({ label: human(conn), key: conn, pick: (s) => s.values[conn] });
  const rate = find(/(ops|acks|edits|changes|messages).*(per_s|per_sec|_rate|_ps)$/i) ?? find(/(per_s|per_sec|_rate)$/i);
  if (rate) out.push({ label: human(rate), key: rate, pick: (s) => s.values[rate] });
  else {
    const counter = find(/acks|ops|edits|changes|messages_in/i);
    if (counter) {
      out.push({
        label: `${human(counter).replace(/ total$/, '')} per second`,
        key: counter,
        pick: (s, prev) => (prev ? Math.max(0, (s.values[counter] - prev.values[counter]) / Math.max(0.001, (s.t - prev.t) / 1000)) : 0),
      });
    }
  }
  if (out.length === 0 && keys.length) out.push({ label: human(keys[0]), key: keys[0], pick: (s) => s.values[keys[0]] });
  return out;
}

function human(key) {
  return key.replace(/[._]/g, ' ').replace(/\bms\b/, '(ms)').replace(/\bper s\b/, 'per second');
}

function format(v) {
  if (v === null || v === undefined) return '–';
  if (Number.isInteger(v)) return v.toLocaleString('en');
  return v.toLocaleString('en', { maximumFractionDigits: 2 });
}

function renderTiles(values) {
  const tiles = $('tiles');
  for (const [key, v] of Object.entries(values)) {
    let tile = tiles.querySelector(`[data-key="${CSS.escape(key)}"]`);
    if (!tile) {
      tile = document.createElement('div');
      tile.className = 'tile';
      tile.dataset.key = key;
      tile.innerHTML = '<div class="value"></div><div class="label"></div>';
      tile.querySelector('.label').textContent = human(key);
      tiles.appendChild(tile);
    }
    tile.querySelector('.value').textContent = format(v);
    tile.dataset.value = v === null ? '' : String(v);
  }
}

function renderChart() {
  const canvas = $('chart');
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth;
  const h = canvas.clientHeight;
  canvas.width = w * dpr;
  canvas.height = h * dpr;
  const g = canvas.getContext('2d');
  g.scale(dpr, dpr);
  g.clearRect(0, 0, w, h);
  g.strokeStyle = '#e5e7eb';
  g.lineWidth = 1;
  for (let y = 0; y <= 4; y++) {
    g.beginPath();
    g.moveTo(0, 10 + ((h - 20) * y) / 4);
    g.lineTo(w, 10 + ((h - 20) * y) / 4);
    g.stroke();
  }
  if (!series || samples.length < 2) return;
  const points = series.map((s) => samples.map((x, i) => s.pick(x, samples[i - 1])));
  series.forEach((s, k) => {
    const ys = points[k];
    const max = Math.max(1, ...ys) * 1.15;
    g.strokeStyle = COLORS[k % COLORS.length];
    g.lineWidth = 2;
    g.beginPath();
    ys.forEach((v, i) => {
      const x = (w * (WINDOW - samples.length + i)) / (WINDOW - 1);
      const y = h - 10 - ((h - 20) * v) / max;
      i === 0 ? g.moveTo(x, y) : g.lineTo(x, y);
    });
    g.stroke();
  });
  canvas.dataset.points = String(samples.length);
  canvas.dataset.last = JSON.stringify(points.map((p) => p[p.length - 1]));
  $('legend').replaceChildren(
    ...series.map((s, k) => {
      const span = document.createElement('span');
      span.innerHTML = `<i style="background:${COLORS[k % COLORS.length]}"></i>`;
      span.append(`${s.label}: ${format(points[k][points[k].length - 1])}`);
      return span;
    }),
  );
}

function onSample(data) {
  let obj;
  try {
    obj = JSON.parse(data);
  } catch {
    return;
  }
  const values = flatten(obj);
  // The sample's own time (the server's clock), not a number to show.
  const t = typeof values.time_ms === 'number' ? values.time_ms : Date.now();
  delete values.time_ms;
  if (Object.keys(values).length === 0) return;
  samples.push({ t, values });
  if (samples.length > WINDOW) samples.shift();
  series ??= chooseSeries(values);
  renderTiles(values);
  renderChart();
  const feed = $('feed');
  feed.dataset.state = 'live';
  feed.textContent = `Live · ${new Date().toLocaleTimeString()}`;
}

function connect() {
  const es = new EventSource('/api/stats/events');
  es.onmessage = (e) => onSample(e.data);
  es.addEventListener('stats', (e) => onSample(e.data));
  es.onerror = () => {
    const feed = $('feed');
    feed.dataset.state = 'reconnecting';
    feed.textContent = 'Reconnecting…';
  };
}

connect();
window.addEventListener('resize', renderChart);

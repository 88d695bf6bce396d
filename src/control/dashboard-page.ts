/**
 * The dashboard's page: one HTML document, no framework. Charts are uPlot's (served from the package by the control
 * plane), as wide as their panels, with times on the browser's local clock; everything else is plain DOM, refreshed
 * from /dashboard/events once a second. Buttons call the control plane's own routes (kill, start, drain, faults)
 * with the login cookie.
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Receipt — who answered, and why</title>
<link rel="stylesheet" href="/dashboard/uplot.css">
<script src="/dashboard/uplot.js"></script>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; background: #f6f7f9; color: #1d2330; }
  header { padding: 12px 20px; background: #1d2330; color: #fff; display: flex; flex-wrap: wrap; gap: 4px 24px; align-items: baseline; }
  header h1 { font-size: 18px; margin: 0; }
  header small { color: #aab; }
  /* minmax(0, 1fr), not 1fr: a track sized from its content would grow with the chart drawn in it and never shrink. */
  main { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 16px; padding: 16px 20px; }
  @media (max-width: 1000px) { main { grid-template-columns: minmax(0, 1fr); } }
  section { background: #fff; border-radius: 8px; padding: 12px 16px; box-shadow: 0 1px 2px #0001; min-width: 0; }
  section.wide { grid-column: 1 / -1; }
  h2 { font-size: 14px; margin: 0 0 8px; text-transform: uppercase; letter-spacing: .04em; color: #556; }
  .chart { min-width: 0; }
  .scroll { overflow-x: auto; }
  pre { white-space: pre-wrap; overflow-wrap: anywhere; }
  .counters { display: flex; gap: 12px; flex-wrap: wrap; }
  .counter { padding: 8px 12px; border-radius: 6px; background: #f0f2f5; min-width: 110px; }
  .counter b { display: block; font-size: 22px; }
  .counter.gateway { border-left: 4px solid #d9822b; } .counter.targets { border-left: 4px solid #c23030; } .counter.clients { border-left: 4px solid #2b95d6; }
  table { border-collapse: collapse; width: 100%; font-size: 13px; }
  td, th { padding: 4px 6px; border-bottom: 1px solid #eceff3; text-align: left; }
  .state-healthy { color: #0a7d38; font-weight: 600; } .state-unhealthy { color: #c23030; font-weight: 600; } .state-initial, .state-draining, .state-unused { color: #8a6d00; font-weight: 600; }
  .dots span { display: inline-block; width: 8px; height: 8px; border-radius: 50%; margin-right: 2px; background: #0a7d38; }
  .dots span.fail { background: #c23030; }
  button { font: inherit; padding: 2px 8px; margin: 0 4px 2px 0; cursor: pointer; }
  .muted { color: #778; }
  label { margin-right: 14px; }
</style>
</head>
<body>
<header><h1>Receipt</h1><small>The first digit says who is responsible: 4xx the client, 5xx the server — and for a 5xx, the gateway or a target.</small></header>
<main>
  <section class="wide">
    <h2>Totals since start</h2>
    <div class="counters">
      <div class="counter gateway">ELB 502<b id="elb-502">0</b><span class="muted">targets refusing / crashing</span></div>
      <div class="counter gateway">ELB 503<b id="elb-503">0</b><span class="muted">no target to send to</span></div>
      <div class="counter gateway">ELB 504<b id="elb-504">0</b><span class="muted">targets too slow</span></div>
      <div class="counter targets">Target 5xx<b id="target-5xx">0</b><span class="muted">the application's</span></div>
      <div class="counter clients">4xx<b id="all-4xx">0</b><span class="muted">the clients'</span></div>
      <div class="counter">p50 / p99<b id="latency">–</b><span class="muted">last 10 s, ms</span></div>
    </div>
  </section>
  <section><h2>Answers per second — by class, and who made them</h2><div id="rate-chart" class="chart"></div></section>
  <section><h2>Latency (ms)</h2><div id="latency-chart" class="chart"></div></section>
  <section>
    <h2>Targets</h2>
    <table><thead><tr><th>target</th><th>state</th><th>health checks</th><th>in flight</th><th></th></tr></thead><tbody id="targets"></tbody></table>
    <p id="action-result" class="muted"></p>
    <p id="deployment" class="muted"></p>
  </section>
  <section>
    <h2>Why the shop said 4xx — the step that decided</h2>
    <table><tbody id="steps"><tr><td class="muted">none yet</td></tr></tbody></table>
  </section>
  <section id="faults-panel" hidden>
    <h2>Faults</h2>
    <div>
      <label><input type="checkbox" data-fault="maintenance"> maintenance</label>
      <label><input type="checkbox" data-fault="db_pool_exhausted"> database pool exhausted</label>
      <label><input type="checkbox" data-fault="payment_failure_rate"> payments failing</label>
      <button id="clear-faults">clear all</button>
    </div>
    <pre id="faults" class="muted"></pre>
  </section>
  <section class="wide">
    <h2>Newest access-log lines</h2>
    <div class="scroll"><table><thead><tr><th>time</th><th>request</th><th>elb_status_code</th><th>target_status_code</th><th>target</th><th>error_reason</th></tr></thead><tbody id="recent"></tbody></table></div>
  </section>
</main>
<script>
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
// Axes a person reads: clock times in the browser's local time, 24-hour, to the second; values with their unit.
const pad = (n) => String(n).padStart(2, '0');
function clock(t, seconds) {
  const d = new Date(t * 1000);
  return pad(d.getHours()) + ':' + pad(d.getMinutes()) + (seconds ? ':' + pad(d.getSeconds()) : '');
}
// The feed's access-log times are UTC time-of-day (as ALB writes its logs); shown on the charts' local clock.
function localClock(utc, now) {
  let t = Date.parse(new Date(now).toISOString().slice(0, 10) + 'T' + utc + 'Z');
  if (t > now + 60000) t -= 86400000; // logged before UTC midnight, shown after it
  return clock(t / 1000, true);
}
// Whole seconds only: the feed counts per second, so a tick between two seconds would name a moment no point has.
const SECOND_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];
const timeAxis = { space: 80, incrs: SECOND_STEPS, values: (u, splits, i, space, step) => splits.map((t) => clock(t, step % 60 !== 0)) };
// Answers and milliseconds come whole: no tick at half a request.
const WHOLE_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6];
function valueAxis(unit) {
  return {
    incrs: WHOLE_STEPS,
    values: (u, splits) => splits.map((v) => v.toLocaleString('en') + ' ' + unit),
    // As wide as its longest label (uPlot's own auto-size recipe), so "12,000 req/s" is not clipped.
    size(u, values, i, cycle) {
      const axis = u.axes[i];
      if (cycle > 1) return axis._size;
      const longest = (values || []).reduce((a, b) => (b.length > a.length ? b : a), '');
      u.ctx.font = axis.font[0];
      return Math.ceil(axis.ticks.size + axis.gap + u.ctx.measureText(longest).width / devicePixelRatio) + 4;
    },
  };
}
// A chart is as wide as its panel, now and whenever the panel changes (window resized, one column or two).
const heightFor = (width) => Math.round(Math.min(320, Math.max(200, width * 0.3)));
function chart(box, unit, series) {
  const width = box.clientWidth;
  // The padding on the right leaves room for half the newest time label, which is centred on the plot's edge.
  const u = new uPlot({ width, height: heightFor(width), series: [{}, ...series], padding: [null, 36, null, null], axes: [timeAxis, valueAxis(unit)], legend: { live: false } }, [[], ...series.map(() => [])], box);
  new ResizeObserver(() => {
    const w = box.clientWidth;
    if (w > 0 && w !== u.width) u.setSize({ width: w, height: heightFor(w) });
  }).observe(box);
  return u;
}
const rate = chart($('rate-chart'), 'req/s', [
  { label: 'target 2xx', stroke: '#0a7d38' }, { label: 'target 4xx', stroke: '#2b95d6' }, { label: 'target 5xx', stroke: '#c23030' },
  { label: 'ELB 3xx', stroke: '#8a6d00' }, { label: 'ELB 4xx', stroke: '#7157d9' }, { label: 'ELB 5xx', stroke: '#d9822b', width: 2 },
]);
const lat = chart($('latency-chart'), 'ms', [{ label: 'p50', stroke: '#2b95d6' }, { label: 'p99', stroke: '#c23030' }]);
const latHistory = [[], [], []];

async function act(method, path, body) {
  const res = await fetch(path, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
  $('action-result').textContent = method + ' ' + path + ' → ' + res.status;
  return res;
}
document.addEventListener('click', (e) => {
  const b = e.target.closest('button[data-action]');
  if (b) act('POST', '/targets/' + encodeURIComponent(b.dataset.target) + '/' + b.dataset.action);
});
async function loadFaults() {
  const res = await fetch('/faults');
  if (!res.ok) return;
  $('faults-panel').hidden = false;
  const doc = await res.json();
  $('faults').textContent = JSON.stringify(doc);
  for (const box of document.querySelectorAll('[data-fault]')) box.checked = !!doc[box.dataset.fault];
}
for (const box of document.querySelectorAll('[data-fault]')) {
  box.addEventListener('change', async () => {
    const value = box.dataset.fault === 'payment_failure_rate' ? (box.checked ? 1 : 0) : box.checked;
    await act('PUT', '/faults', { [box.dataset.fault]: value });
    loadFaults();
  });
}
$('clear-faults').addEventListener('click', async () => { await act('DELETE', '/faults'); loadFaults(); });
loadFaults();

const events = new EventSource('/dashboard/events');
events.onmessage = (m) => {
  const s = JSON.parse(m.data);
  $('elb-502').textContent = s.totals.elb502;
  $('elb-503').textContent = s.totals.elb503;
  $('elb-504').textContent = s.totals.elb504;
  $('target-5xx').textContent = s.totals.target5xx;
  $('all-4xx').textContent = s.totals.elb4xx + s.totals.target4xx;
  $('latency').textContent = s.p50_ms === null ? '–' : s.p50_ms + ' / ' + s.p99_ms;
  const xs = s.seconds.map((x) => x.t);
  rate.setData([xs, s.seconds.map((x) => x.target['2xx']), s.seconds.map((x) => x.target['4xx']), s.seconds.map((x) => x.target['5xx']),
    s.seconds.map((x) => x.elb['3xx']), s.seconds.map((x) => x.elb['4xx']), s.seconds.map((x) => x.elb['5xx'])]);
  latHistory[0].push(Math.floor(s.now / 1000)); latHistory[1].push(s.p50_ms); latHistory[2].push(s.p99_ms);
  if (latHistory[0].length > 60) latHistory.forEach((a) => a.shift());
  lat.setData(latHistory);
  $('targets').innerHTML = s.targets.map((t) =>
    '<tr data-target="' + esc(t.id) + '"><td>' + esc(t.id) + ' <span class="muted">' + esc(t.group) + ' ' + esc(t.address) + '</span></td>' +
    '<td class="state state-' + esc(t.state) + '" title="' + esc(t.reason) + '">' + esc(t.state) + '</td>' +
    '<td class="dots">' + t.checks.map((ok) => '<span class="' + (ok ? '' : 'fail') + '"></span>').join('') + '</td>' +
    '<td>' + t.in_flight + '</td>' +
    '<td>' + ['kill', 'start', 'drain'].map((a) => '<button data-action="' + a + '" data-target="' + esc(t.id) + '">' + a + '</button>').join('') + '</td></tr>').join('');
  const d = s.deployment;
  $('deployment').textContent = d ? 'deployment ' + d.previous_version + ' → ' + d.version + ': ' + d.status + (d.last_event ? ' — ' + d.last_event : '') : '';
  const steps = Object.entries(s.steps_4xx).sort((a, b) => b[1] - a[1]);
  $('steps').innerHTML = steps.length ? steps.map(([k, n]) => '<tr><td>' + esc(k.replace(' ', ' from ')) + '</td><td>' + n + '</td></tr>').join('') : '<tr><td class="muted">none yet</td></tr>';
  $('recent').innerHTML = s.recent.map((r) =>
    '<tr><td>' + esc(localClock(r.time, s.now)) + '</td><td>' + esc(r.request) + '</td><td>' + esc(r.elb_status_code) + '</td><td>' + esc(r.target_status_code) + '</td><td>' + esc(r.target) + '</td><td>' + esc(r.error_reason) + '</td></tr>').join('');
};
</script>
</body>
</html>
`;

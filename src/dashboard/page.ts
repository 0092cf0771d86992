/**
 * The dashboard page: one HTML file, one script, one style sheet, all
 * served by the node itself (no CDN, nothing downloaded). The script builds
 * every cell with textContent, never innerHTML: whatever came off the wire
 * (node names, task names, arguments, error messages) shows as text.
 */

export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mesh dashboard</title>
<link rel="stylesheet" href="/app.css">
<script src="/app.js" defer></script>
</head>
<body>
<header>
  <h1>mesh</h1>
  <span id="self"></span>
  <span id="live" class="badge">connecting…</span>
  <span class="spacer"></span>
  <label id="token-box" hidden>token <input id="token" type="password" autocomplete="off" size="16"></label>
</header>
<p id="msg" role="status"></p>
<section>
  <h2>Nodes</h2>
  <table id="nodes"><thead><tr><th>name</th><th>peer id</th><th>state</th><th>tasks</th><th>objects</th><th>workers busy/total</th><th>queue</th><th>served</th><th>failures</th><th>steals</th><th class="act"></th></tr></thead><tbody></tbody></table>
</section>
<section>
  <h2>Tasks</h2>
  <table id="tasks"><thead><tr><th>task</th><th>providers</th><th>calls/s</th><th>p50</th><th>p99</th><th>calls</th><th>failures</th></tr></thead><tbody></tbody></table>
</section>
<section>
  <h2>Jobs</h2>
  <div class="filters">
    <label>task <select id="f-task"><option value="">all</option></select></label>
    <label>state <select id="f-state"><option value="">all</option><option>running</option><option>succeeded</option><option>failed</option><option>cancelled</option></select></label>
    <label>node <select id="f-node"><option value="">all</option></select></label>
  </div>
  <table id="jobs"><thead><tr><th>id</th><th>task</th><th>state</th><th>node</th><th>caller</th><th>chunks by peer</th><th>duration</th><th>args</th><th>error</th><th class="act"></th></tr></thead><tbody></tbody></table>
</section>
<footer>JSON: <a href="/api/nodes">/api/nodes</a> · <a href="/api/tasks">/api/tasks</a> · <a href="/api/jobs">/api/jobs</a> · <a href="/metrics">/metrics</a></footer>
</body>
</html>
`

export const APP_CSS = `
:root { color-scheme: light dark; --fg: #1b1f24; --bg: #fff; --mute: #6a737d; --line: #d0d7de; --ok: #1a7f37; --bad: #cf222e; --run: #0969da; --warn: #9a6700; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --bg: #0d1117; --mute: #8b949e; --line: #30363d; --ok: #3fb950; --bad: #f85149; --run: #58a6ff; --warn: #d29922; } }
* { box-sizing: border-box; }
body { margin: 0; padding: 0 1.5rem 2rem; font: 14px/1.4 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; align-items: center; gap: 1rem; padding: .8rem 0; border-bottom: 1px solid var(--line); }
h1 { font-size: 1.3rem; margin: 0; } h2 { font-size: 1.05rem; margin: 1.4rem 0 .5rem; }
.spacer { flex: 1; }
.badge { font-size: .8rem; padding: .1rem .5rem; border-radius: 1rem; border: 1px solid var(--line); color: var(--mute); }
.badge.live { color: var(--ok); border-color: var(--ok); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--mute); font-size: .85rem; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.mono, #self { font-family: ui-monospace, monospace; font-size: .85rem; }
td.args, td.err { max-width: 22rem; overflow-wrap: anywhere; }
.state-running { color: var(--run); } .state-succeeded, .state-up { color: var(--ok); } .state-failed, .state-down { color: var(--bad); } .state-cancelled, .state-draining { color: var(--warn); }
.filters { display: flex; gap: 1rem; margin-bottom: .5rem; }
button { font: inherit; font-size: .8rem; cursor: pointer; }
#msg { min-height: 1.2rem; margin: .4rem 0 0; color: var(--mute); }
footer { margin-top: 2rem; color: var(--mute); }
a { color: var(--run); }
`

export const APP_JS = `'use strict';
(function () {
  var state = null, source = null;
  var filters = { task: '', state: '', node: '' };
  var $ = function (id) { return document.getElementById(id); };
  function el (tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function short (id) { id = String(id || ''); return id.length > 16 ? id.slice(0, 6) + '…' + id.slice(-6) : id; }
  function ms (v) {
    if (v === undefined || v === null) return '';
    if (v < 1) return Math.round(v * 1000) + ' µs';
    if (v < 1000) return (v < 10 ? v.toFixed(2) : Math.round(v)) + ' ms';
    return (v / 1000).toFixed(v < 10000 ? 2 : 1) + ' s';
  }
  function token () { return $('token').value || sessionStorage.getItem('mesh-token') || ''; }
  function say (text) { $('msg').textContent = text; }
  function action (path, what) {
    var t = token();
    sessionStorage.setItem('mesh-token', t);
    fetch(path, { method: 'POST', headers: t ? { authorization: 'Bearer ' + t } : {} })
      .then(function (r) { return r.json().then(function (body) { return { status: r.status, body: body }; }); })
      .then(function (r) { say(r.status === 200 ? what + ': done' : what + ': ' + r.status + ' ' + ((r.body.error && r.body.error.message) || '')); })
      .catch(function (err) { say(what + ': ' + err.message); });
  }
  function fill (id, rows) {
    var body = $(id).tBodies[0];
    var frag = document.createDocumentFragment();
    rows.forEach(function (r) { frag.appendChild(r); });
    body.replaceChildren(frag);
  }
  function row (cells, attrs) {
    var tr = document.createElement('tr');
    Object.keys(attrs || {}).forEach(function (k) { tr.setAttribute(k, attrs[k]); });
    cells.forEach(function (c) { tr.appendChild(c); });
    return tr;
  }
  function button (label, onClick) { var td = el('td', null, 'act'); var b = el('button', label); b.addEventListener('click', onClick); td.appendChild(b); return td; }
  function options (id, values) {
    var select = $(id), current = select.value;
    var opts = [el('option', 'all')]; opts[0].value = '';
    values.forEach(function (v) { var o = el('option', v[1]); o.value = v[0]; opts.push(o); });
    select.replaceChildren.apply(select, opts);
    select.value = current;
  }
  function render () {
    var names = {};
    state.nodes.forEach(function (n) { names[n.peerId] = n.name || short(n.peerId); });
    var self = state.nodes.filter(function (n) { return n.self; })[0];
    $('self').textContent = self ? names[self.peerId] + ' · ' + short(self.peerId) : '';
    $('token-box').hidden = !state.actions;
    fill('nodes', state.nodes.map(function (n) {
      var st = !n.up ? 'down' : n.draining ? 'draining' : 'up';
      return row([
        el('td', n.name), el('td', short(n.peerId), 'mono'), el('td', st, 'state-' + st),
        el('td', n.tasks.join(', ')), el('td', n.objects.join(', ')),
        el('td', n.busy + '/' + n.workers, 'num'), el('td', n.queued, 'num'), el('td', n.served, 'num'), el('td', n.failed, 'num'), el('td', n.steals, 'num'),
        state.actions && n.up && n.tasks.length > 0 ? button('drain', function () { action('/api/nodes/' + encodeURIComponent(n.peerId) + '/drain', 'drain ' + names[n.peerId]); }) : el('td')
      ], { 'data-peer': n.peerId });
    }));
    fill('tasks', state.tasks.map(function (t) {
      return row([el('td', t.name), el('td', t.providers, 'num'), el('td', t.callsPerSec.toFixed(2), 'num'), el('td', ms(t.p50Ms), 'num'), el('td', ms(t.p99Ms), 'num'), el('td', t.calls, 'num'), el('td', t.failures, 'num')], { 'data-task': t.name });
    }));
    fill('jobs', state.jobs.map(function (j) {
      var chunks = (j.chunks || []).map(function (c) { return (c.name || short(c.peer)) + ' ×' + c.chunks + (c.steals ? ' (' + c.steals + ' steals)' : ''); }).join(', ');
      if (j.total) chunks = j.done + '/' + j.total + (chunks ? ': ' + chunks : '');
      return row([
        el('td', short(j.id), 'mono'), el('td', j.task), el('td', j.state, 'state-' + j.state), el('td', names[j.peer] || short(j.peer)), el('td', names[j.from] || short(j.from)),
        el('td', chunks), el('td', ms(j.ms), 'num'), el('td', j.args, 'args mono'), el('td', j.error ? j.error.code + ': ' + j.error.message : '', 'err'),
        state.actions && j.state === 'running' ? button('cancel', function () { action('/api/jobs/' + encodeURIComponent(j.id) + '/cancel', 'cancel ' + short(j.id)); }) : el('td')
      ], { 'data-job': j.id, 'data-state': j.state });
    }));
    options('f-task', state.tasks.map(function (t) { return [t.name, t.name]; }));
    options('f-node', state.nodes.map(function (n) { return [n.peerId, names[n.peerId]]; }));
  }
  function connect () {
    if (source) source.close();
    var q = new URLSearchParams();
    Object.keys(filters).forEach(function (k) { if (filters[k]) q.set(k, filters[k]); });
    source = new EventSource('/api/stream?' + q.toString());
    source.onmessage = function (m) { state = JSON.parse(m.data); render(); $('live').textContent = 'live'; $('live').className = 'badge live'; };
    source.onerror = function () { $('live').textContent = 'reconnecting…'; $('live').className = 'badge'; };
  }
  document.addEventListener('DOMContentLoaded', function () {
    $('token').value = sessionStorage.getItem('mesh-token') || '';
    ['task', 'state', 'node'].forEach(function (k) {
      $('f-' + k).addEventListener('change', function (e) { filters[k] = e.target.value; connect(); });
    });
    connect();
  });
})();
`

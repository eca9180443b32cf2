// The dashboard page served at `/`: one self-contained HTML document (CSS and script inline, no CDN),
// shipped inside the build as a string. It listens to /events (server-sent events) and redraws.
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>OpenCluster</title>
<style>
  :root { --bg: #f7f7f5; --fg: #1d1d1f; --muted: #6b6b70; --line: #dcdcd8; --card: #fff; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; background: var(--bg); color: var(--fg); }
  header { display: flex; align-items: baseline; gap: 16px; padding: 12px 20px; border-bottom: 1px solid var(--line); background: var(--card); }
  header h1 { font-size: 18px; margin: 0; }
  .muted { color: var(--muted); }
  .badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; }
  .ok { background: #dff3e4; color: #14622c; } .bad { background: #fbe2e0; color: #8a1c12; } .warn { background: #fff1cc; color: #6b4d00; }
  main { display: grid; grid-template-columns: minmax(560px, 3fr) minmax(320px, 2fr); gap: 16px; padding: 16px 20px; }
  section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; }
  section h2 { font-size: 14px; margin: 0 0 8px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
  table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
  th, td { text-align: right; padding: 4px 5px; border-bottom: 1px solid var(--line); white-space: nowrap; }
  th:first-child, td:first-child, th:nth-child(2), td:nth-child(2) { text-align: left; }
  .swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; vertical-align: -1px; }
  tr.dead td { color: var(--muted); text-decoration: line-through; }
  tr.dead td.state { text-decoration: none; color: #8a1c12; font-weight: 600; }
  #grid { display: grid; gap: 2px; max-width: 520px; }
  .cell { aspect-ratio: 1; border-radius: 2px; background: #e6e6e3; position: relative; }
  .cell.nobackup { background-image: repeating-linear-gradient(45deg, rgba(255,255,255,.75) 0 2px, transparent 2px 5px); }
  .cell.moving { outline: 2px solid #1d1d1f; outline-offset: -2px; animation: pulse 1s infinite; }
  @keyframes pulse { 50% { opacity: .45; } }
  .legend { display: flex; gap: 14px; flex-wrap: wrap; margin-top: 8px; font-size: 12px; color: var(--muted); }
  .legend .cell { display: inline-block; width: 12px; height: 12px; vertical-align: -2px; margin-right: 4px; background-color: #7a9; }
  svg { width: 100%; height: 140px; display: block; }
  .wide { grid-column: 1 / -1; }
  #conn { font-size: 12px; }
</style>
</head>
<body>
<header>
  <h1>OpenCluster</h1>
  <span class="muted">served by <b id="me">…</b></span>
  <span id="ready" class="badge warn">…</span>
  <span id="safe" class="badge warn">…</span>
  <span id="conn" class="muted">connecting…</span>
</header>
<main>
  <section>
    <h2>Nodes</h2>
    <table>
      <thead><tr><th>node</th><th>state</th><th>primaries</th><th>backups</th><th>items (primary)</th><th>memory</th><th>req/s</th><th>p99</th></tr></thead>
      <tbody id="nodes"></tbody>
    </table>
    <h2 style="margin-top:14px">Transfers in progress</h2>
    <div id="transfers" class="muted">none</div>
  </section>
  <section>
    <h2>Buckets <span id="bucketCount" class="muted"></span></h2>
    <div id="grid"></div>
    <div class="legend">
      <span>colour: the primary</span>
      <span><span class="cell nobackup"></span>no backup</span>
      <span><span class="cell moving"></span>moving</span>
      <span><span class="cell" style="background:#e6e6e3"></span>no owner</span>
    </div>
  </section>
  <section class="wide">
    <h2>Requests/s and p99 (up to the last 5 minutes)</h2>
    <svg id="chart" viewBox="0 0 1000 140" preserveAspectRatio="none"></svg>
    <div class="legend"><span><span class="swatch" style="background:#2f6fde"></span>requests/s (cluster) <b id="rpsNow"></b></span><span><span class="swatch" style="background:#e0652b"></span>p99 ms (worst bucket bound) <b id="p99Now"></b></span></div>
  </section>
</main>
<script>
(function () {
  var PALETTE = ['#2f6fde', '#e0652b', '#2a9d58', '#8e44ad', '#c0392b', '#16a0a8', '#d4a017', '#6c5b3e', '#d6478f', '#4b5563', '#7fb800', '#0b3d91'];
  var colourOf = {};
  var nextColour = 0;
  function colour(addr) {
    if (!(addr in colourOf)) colourOf[addr] = PALETTE[nextColour++ % PALETTE.length];
    return colourOf[addr];
  }
  function el(id) { return document.getElementById(id); }
  function text(x) { return x === null || x === undefined ? '–' : String(x); }
  function mb(bytes) { return bytes === null ? '–' : (bytes / 1048576).toFixed(1) + ' MB'; }
  function num(x) { return x === null ? '–' : Math.round(x).toLocaleString('en-US'); }
  function ms(x) { return x === null ? '–' : (x < 1 ? x.toFixed(3) : String(x)) + ' ms'; }
  function badge(node, ok, label, reason) {
    node.className = 'badge ' + (ok ? 'ok' : 'bad');
    node.textContent = label + ': ' + (ok ? 'yes' : 'no');
    node.title = reason;
  }
  var cells = [];
  function drawGrid(doc) {
    var grid = el('grid');
    var n = doc.primaries.length;
    if (cells.length !== n) {
      grid.textContent = '';
      cells = [];
      grid.style.gridTemplateColumns = 'repeat(' + Math.ceil(Math.sqrt(n)) + ', 1fr)';
      for (var i = 0; i < n; i++) {
        var c = document.createElement('div');
        c.className = 'cell';
        grid.appendChild(c);
        cells.push(c);
      }
    }
    var moving = {};
    doc.moving.forEach(function (b) { moving[b] = true; });
    for (var b = 0; b < n; b++) {
      var p = doc.nodes[doc.primaries[b]];
      var cell = cells[b];
      var addr = p ? p.addr : '';
      cell.dataset.primary = addr;
      cell.dataset.backup = doc.backups[b] >= 0 ? doc.nodes[doc.backups[b]].addr : '';
      cell.style.backgroundColor = p ? colour(addr) : '#e6e6e3';
      cell.className = 'cell' + (p && doc.backups[b] < 0 ? ' nobackup' : '') + (moving[b] ? ' moving' : '');
      cell.title = 'bucket ' + b + '\\nprimary ' + (addr || 'none') + '\\nbackup ' + (cell.dataset.backup || 'none') + (moving[b] ? '\\nmoving' : '');
    }
    el('bucketCount').textContent = n + ' (mask 0x' + doc.mask.toString(16) + ')';
  }
  function drawNodes(doc) {
    var body = el('nodes');
    body.textContent = '';
    doc.nodes.forEach(function (r) {
      var tr = document.createElement('tr');
      tr.className = r.state;
      tr.dataset.addr = r.addr;
      tr.dataset.state = r.state;
      var cols = [r.addr + (r.self ? ' (this)' : ''), r.state, r.primaries, r.backups, num(r.items), mb(r.memoryBytes), num(r.requestsPerSec), ms(r.p99Ms)];
      cols.forEach(function (v, i) {
        var td = document.createElement('td');
        if (i === 0) {
          var s = document.createElement('span');
          s.className = 'swatch';
          s.style.background = r.state === 'dead' ? '#bbb' : colour(r.addr);
          td.appendChild(s);
        }
        if (i === 1) td.className = 'state';
        td.appendChild(document.createTextNode(text(v)));
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
  }
  function drawTransfers(doc) {
    var t = el('transfers');
    if (doc.transfers.length === 0) { t.textContent = 'none'; return; }
    t.textContent = doc.transfers.map(function (x) { return 'bucket ' + x.bucket + ': ' + x.from + ' → ' + x.to + ' (' + x.role + ', ' + x.items + ' items sent)'; }).join('; ');
  }
  // The time axis spans the history there is, from 30 s up to 5 minutes.
  function path(points, key, max, endMs, windowMs) {
    return points.map(function (p, i) {
      var x = 1000 - ((endMs - p.atMs) / windowMs) * 1000;
      var y = p[key] === null ? 138 : 135 - (p[key] / max) * 125;
      return (i === 0 ? 'M' : 'L') + Math.max(0, x).toFixed(1) + ' ' + y.toFixed(1);
    }).join(' ');
  }
  function drawChart(doc) {
    var h = doc.history;
    var maxRps = 1, maxP99 = 0.01;
    h.forEach(function (p) { maxRps = Math.max(maxRps, p.requestsPerSec); if (p.p99Ms !== null) maxP99 = Math.max(maxP99, p.p99Ms); });
    var end = doc.atMs;
    var span = h.length > 0 ? end - h[0].atMs : 0;
    var windowMs = Math.min(300000, Math.max(30000, span));
    el('chart').innerHTML = '<path d="' + path(h, 'requestsPerSec', maxRps, end, windowMs) + '" fill="none" stroke="#2f6fde" stroke-width="2" vector-effect="non-scaling-stroke"/>' +
      '<path d="' + path(h, 'p99Ms', maxP99, end, windowMs) + '" fill="none" stroke="#e0652b" stroke-width="2" vector-effect="non-scaling-stroke"/>';
    var last = h[h.length - 1];
    el('rpsNow').textContent = last ? num(last.requestsPerSec) + ' (max ' + num(maxRps) + ')' : '';
    el('p99Now').textContent = last ? ms(last.p99Ms) : '';
    document.body.dataset.peakRequestsPerSec = String(h.reduce(function (m, p) { return Math.max(m, p.requestsPerSec); }, 0));
  }
  function draw(doc) {
    el('me').textContent = doc.me;
    badge(el('ready'), doc.ready.ok, 'ready', doc.ready.reason);
    badge(el('safe'), doc.safe.ok, 'cluster safe', doc.safe.reason);
    drawNodes(doc);
    drawGrid(doc);
    drawTransfers(doc);
    drawChart(doc);
    window.__state = doc;
    document.body.dataset.updated = String(doc.atMs);
  }
  var source = new EventSource('events');
  source.addEventListener('state', function (e) {
    el('conn').textContent = 'live';
    draw(JSON.parse(e.data));
  });
  source.onerror = function () { el('conn').textContent = 'reconnecting…'; };
})();
</script>
</body>
</html>
`;

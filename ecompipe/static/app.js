// ecompipe dashboard: plain JS and SVG, no build step, no network but this server's /api.
"use strict";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";

function el(name, attrs = {}, text) {
  const node = name.startsWith("svg:") ? document.createElementNS(SVG, name.slice(4)) : document.createElement(name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

// money arrives as exact strings ("40.49"); sums are done in integer cents
const cents = (s) => { const [w, f = "0"] = String(s).split("."); const sign = w.startsWith("-") ? -1 : 1; return sign * (Math.abs(parseInt(w, 10)) * 100 + parseInt((f + "00").slice(0, 2), 10)); };
const money = (c) => `${c < 0 ? "-" : ""}${Math.floor(Math.abs(c) / 100).toLocaleString("en-US")}.${String(Math.abs(c) % 100).padStart(2, "0")}`;
const pct = (r) => `${(r * 100).toFixed(2)}%`;

async function api(path, payload) {
  const headers = {};
  const key = localStorage.getItem("ecompipe-api-key");
  if (key) headers["X-API-Key"] = key;
  const init = { headers };
  if (payload !== undefined) { init.method = "POST"; headers["Content-Type"] = "application/json"; init.body = JSON.stringify(payload); }
  const resp = await fetch(path, init);
  if (resp.status === 401) { $("key-box").hidden = false; throw new Error("this server needs an API key: enter it above"); }
  const body = await resp.json();
  if (!resp.ok) throw new Error(body.detail || `${resp.status} ${resp.statusText}`);
  return body;
}

function showError(err) { $("error").hidden = !err; $("error").textContent = err ? String(err.message || err) : ""; }

// The range lives in the address too (?from=&to=), so a view can be shared as a link.
function rangeFromAddress() {
  const q = new URLSearchParams(location.search);
  for (const name of ["from", "to"]) { const v = q.get(name); if (v && /^\d{4}-\d{2}-\d{2}$/.test(v)) $(name).value = v; }
}

function query() {
  const q = new URLSearchParams();
  if ($("from").value) q.set("from", $("from").value);
  if ($("to").value) q.set("to", $("to").value);
  return q.toString() ? `?${q}` : "";
}

function frame(width, height) {
  return el("svg:svg", { viewBox: `0 0 ${width} ${height}`, role: "img" });
}

function empty(container, text) { container.replaceChildren(el("div", { class: "empty" }, text)); }

function dayLabels(svg, days, x, y, step) {
  const every = Math.max(1, Math.ceil(days.length / 10));
  days.forEach((d, i) => { if (i % every === 0) svg.append(el("svg:text", { x: x(i), y, "text-anchor": "middle" }, d.slice(5))); });
}

function revenueChart(rows) {
  const box = $("chart-revenue");
  if (!rows.length) return empty(box, "no KPIs in this range");
  const W = 900, H = 280, L = 70, R = 50, T = 24, B = 28;
  const svg = frame(W, H);
  const revenue = rows.map((r) => cents(r.total_revenue));
  const maxRev = Math.max(1, ...revenue), maxOrders = Math.max(1, ...rows.map((r) => r.total_orders));
  const step = (W - L - R) / rows.length, bw = Math.max(2, step * 0.7);
  const x = (i) => L + step * i + step / 2, yRev = (c) => H - B - (c / maxRev) * (H - T - B), yOrd = (n) => H - B - (n / maxOrders) * (H - T - B);
  svg.append(el("svg:line", { class: "axis", x1: L, x2: W - R, y1: H - B, y2: H - B }));
  svg.append(el("svg:text", { x: L - 6, y: T, "text-anchor": "end" }, money(maxRev)));
  svg.append(el("svg:text", { x: W - 4, y: T, "text-anchor": "end" }, `${maxOrders} orders`));
  rows.forEach((r, i) => {
    const bar = el("svg:rect", { class: "bar", x: x(i) - bw / 2, y: yRev(revenue[i]), width: bw, height: H - B - yRev(revenue[i]), "data-date": r.order_date, "data-revenue": r.total_revenue });
    bar.append(el("svg:title", {}, `${r.order_date}: revenue ${money(revenue[i])}, ${r.total_orders} orders`));
    svg.append(bar);
  });
  svg.append(el("svg:polyline", { class: "line", points: rows.map((r, i) => `${x(i)},${yOrd(r.total_orders)}`).join(" ") }));
  rows.forEach((r, i) => svg.append(el("svg:circle", { class: "dot", cx: x(i), cy: yOrd(r.total_orders), r: 3, "data-date": r.order_date, "data-orders": r.total_orders })));
  dayLabels(svg, rows.map((r) => r.order_date), x, H - 8, step);
  const legend = el("svg:g", { class: "legend" });
  legend.append(el("svg:rect", { x: L, y: 4, width: 10, height: 10, class: "bar" }), el("svg:text", { x: L + 14, y: 13 }, "revenue"));
  legend.append(el("svg:rect", { x: L + 80, y: 4, width: 10, height: 10, class: "dot" }), el("svg:text", { x: L + 94, y: 13 }, "orders"));
  svg.append(legend);
  box.replaceChildren(svg);
}

function returnsChart(rows) {
  const box = $("chart-returns");
  if (!rows.length) return empty(box, "no KPIs in this range");
  const W = 440, H = 220, L = 50, R = 14, T = 16, B = 26;
  const svg = frame(W, H);
  const maxRate = Math.max(0.01, ...rows.map((r) => r.return_rate));
  const step = (W - L - R) / rows.length, x = (i) => L + step * i + step / 2, y = (v) => H - B - (v / maxRate) * (H - T - B);
  svg.append(el("svg:line", { class: "axis", x1: L, x2: W - R, y1: H - B, y2: H - B }));
  svg.append(el("svg:text", { x: L - 6, y: T + 4, "text-anchor": "end" }, pct(maxRate)));
  svg.append(el("svg:polyline", { class: "line rate", points: rows.map((r, i) => `${x(i)},${y(r.return_rate)}`).join(" ") }));
  rows.forEach((r, i) => {
    const dot = el("svg:circle", { class: "rate-dot", cx: x(i), cy: y(r.return_rate), r: 3.5, "data-date": r.order_date, "data-rate": r.return_rate });
    dot.append(el("svg:title", {}, `${r.order_date}: ${pct(r.return_rate)} returned`));
    svg.append(dot);
  });
  dayLabels(svg, rows.map((r) => r.order_date), x, H - 8, step);
  box.replaceChildren(svg);
}

function categoryChart(rows) {
  const box = $("chart-categories");
  const totals = new Map();
  rows.forEach((r) => totals.set(r.category, (totals.get(r.category) || 0) + cents(r.daily_revenue)));
  const data = [...totals.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  if (!data.length) return empty(box, "no category KPIs in this range");
  const W = 440, row = 26, L = 130, R = 90, H = data.length * row + 8;
  const svg = frame(W, H);
  const max = Math.max(1, ...data.map(([, c]) => c));
  data.forEach(([category, c], i) => {
    const y = 4 + i * row, w = ((W - L - R) * c) / max;
    svg.append(el("svg:text", { x: L - 8, y: y + 16, "text-anchor": "end" }, category.length > 18 ? `${category.slice(0, 17)}…` : category));
    const bar = el("svg:rect", { class: "bar", x: L, y: y + 3, width: Math.max(1, w), height: row - 8, "data-category": category, "data-revenue": money(c).replace(/,/g, "") });
    bar.append(el("svg:title", {}, `${category}: ${money(c)}`));
    svg.append(bar, el("svg:text", { x: L + w + 6, y: y + 16 }, money(c)));
  });
  box.replaceChildren(svg);
}

function cards(orders) {
  const revenue = orders.reduce((s, r) => s + cents(r.total_revenue), 0);
  const count = orders.reduce((s, r) => s + r.total_orders, 0);
  const items = orders.reduce((s, r) => s + r.total_items_sold, 0);
  const returned = orders.reduce((s, r) => s + r.return_rate * r.total_orders, 0);
  const values = [["revenue", money(revenue)], ["orders", count.toLocaleString("en-US")], ["items sold", items.toLocaleString("en-US")], ["returned orders", count ? pct(returned / count) : "–"], ["days", String(orders.length)]];
  $("cards").replaceChildren(...values.map(([label, value]) => {
    const card = el("div", { class: "card", "data-card": label });
    card.append(el("div", { class: "label" }, label), el("div", { class: "value" }, value));
    return card;
  }));
}

function runsTable(runs) {
  const body = $("runs").querySelector("tbody");
  if (!runs.length) { body.replaceChildren(el("tr", {}, "")); body.firstChild.append(el("td", { colspan: 9, class: "empty" }, "no runs yet")); return; }
  body.replaceChildren(...runs.map((r) => {
    const tr = el("tr", { "data-run-id": r.run_id });
    tr.append(el("td", {}, r.run_id));
    const status = el("td"); status.append(el("span", { class: `status ${r.status || ""}` }, r.status || "?")); tr.append(status);
    tr.append(el("td", {}, (r.started_at || "").slice(0, 19).replace("T", " ")));
    tr.append(el("td", { class: "num", "data-field": "files" }, r.parts ? `${r.files ?? "–"} (${r.parts} in parallel)` : (r.files ?? "–")));
    for (const k of ["accepted", "rejected", "pending"]) tr.append(el("td", { class: "num", "data-field": k }, r[k] ?? "–"));
    tr.append(el("td", { class: "num", "data-field": "dates" }, r.date_groups ? `${r.affected_dates ?? "–"} (${r.date_groups} groups in parallel)` : (r.affected_dates ?? "–")));
    const link = el("td");
    if (r.report_url) { const a = el("a", { href: `#report/${encodeURIComponent(r.run_id)}` }, "report"); link.append(a); }
    tr.append(link);
    return tr;
  }));
}

async function showReport(runId) {
  const report = await api(`/api/runs/${encodeURIComponent(runId)}/report`);
  $("report-title").textContent = `${report.batch_id}: ${report.totals.rows_read} rows read, ${report.totals.accepted} accepted, ${report.totals.rejected} rejected, ${report.totals.pending} pending`;
  const parts = [];
  if (report.fan_out) {
    const here = report.fan_out.parsed_here.length ? `; parsed by validate itself: ${report.fan_out.parsed_here.join(", ")}` : "";
    parts.push(el("div", { class: "file" }, `fanned out: ${report.fan_out.parsed_by_tasks.length} files parsed by parse-file tasks${here}`));
  }
  if (report.rechecked_at_commit) {
    const r = report.rechecked_at_commit;
    parts.push(el("div", { class: "file" }, `rechecked at its commit (${r.at.slice(0, 19)}), validated ${String(r.validated_at).slice(0, 19)}: ${r.why}`));
  }
  for (const f of report.files) {
    parts.push(el("div", { class: "file" }, f.status === "rejected" ? `${f.file}: file rejected (${f.error.reason}) ${f.error.message}` : `${f.file}: ${f.rows_read} read, ${f.accepted} accepted, ${f.rejected} rejected, ${f.pending} pending`));
    const examples = Object.values(f.examples || {}).flat();
    if (examples.length) {
      const t = el("table"); const head = el("tr");
      for (const h of ["line", "column", "value", "reason"]) head.append(el("th", {}, h));
      t.append(head);
      for (const e of examples) { const tr = el("tr"); for (const k of ["line", "column", "value", "reason"]) tr.append(el("td", {}, e[k] ?? "")); t.append(tr); }
      parts.push(t);
    }
  }
  $("report").replaceChildren(...parts);
  $("report-panel").hidden = false;
  $("report-panel").scrollIntoView();
}

// an answer: every value goes in as text (textContent), never as markup
function answerTable(doc) {
  $("interpretation").textContent = doc.interpretation ? `Understood as: ${doc.interpretation}` : "";
  const head = el("tr"); doc.columns.forEach((c) => head.append(el("th", {}, c)));
  $("answer-table").querySelector("thead").replaceChildren(head);
  const body = $("answer-table").querySelector("tbody");
  if (!doc.rows.length) { const tr = el("tr"); tr.append(el("td", { colspan: Math.max(1, doc.columns.length), class: "empty" }, "no rows")); body.replaceChildren(tr); }
  else body.replaceChildren(...doc.rows.map((row) => { const tr = el("tr"); row.forEach((v) => tr.append(el("td", {}, v === null ? "" : String(v)))); return tr; }));
  $("answer-notes").textContent = [`${doc.row_count} rows in ${doc.seconds.toFixed(2)} s`, ...doc.notes].join(" · ");
  $("answer-sql").textContent = doc.sql;
  $("answer").hidden = false;
}

async function ask(question) {
  $("ask-error").hidden = true;
  const body = { question };
  if ($("today").value) body.today = $("today").value;
  try { answerTable(await api("/api/queries", body)); }
  catch (err) { $("answer").hidden = true; $("ask-error").textContent = String(err.message || err); $("ask-error").hidden = false; }
}

async function examples() {
  const list = await api("/api/queries/examples");
  $("examples").replaceChildren(...list.map((q) => {
    const b = el("button", { type: "button", class: "example" }, q);
    b.addEventListener("click", () => { $("question").value = q; ask(q); });
    return b;
  }));
}

const REJECTIONS_SQL = "SELECT batch_id, day, file, reason, SUM(row_count) AS row_count FROM rejections GROUP BY 1, 2, 3, 4 ORDER BY day DESC, batch_id DESC, row_count DESC, file, reason LIMIT 50";

async function errorsTable() {
  const doc = await api("/api/sql", { sql: REJECTIONS_SQL });
  const body = $("errors").querySelector("tbody");
  if (!doc.rows.length) { const tr = el("tr"); tr.append(el("td", { colspan: 5, class: "empty" }, "no rejected rows")); body.replaceChildren(tr); return; }
  body.replaceChildren(...doc.rows.map(([batch, day, file, reason, count]) => {
    const tr = el("tr", { "data-reason": reason });
    tr.append(el("td", {}, batch), el("td", {}, day), el("td", {}, file), el("td", {}, reason), el("td", { class: "num", "data-field": "rows" }, String(count)));
    return tr;
  }));
}

// Every cell below is text (textContent): a value from the data never becomes markup.
function rows(id, items, cells, columns, none) {
  const body = $(id).querySelector("tbody");
  if (!items.length) { const tr = el("tr"); tr.append(el("td", { colspan: columns, class: "empty" }, none)); body.replaceChildren(tr); return; }
  body.replaceChildren(...items.map((item) => { const tr = el("tr"); tr.append(...cells(item).map((c) => el("td", {}, c == null ? "" : String(c)))); return tr; }));
}

// An alert's message as a line: its plain values (lists and nested parts are in GET /api/alerts).
function said(message) {
  const line = Object.entries(message).filter(([, v]) => v !== null && typeof v !== "object").map(([k, v]) => `${k}: ${v}`).join(" · ");
  return line.length > 300 ? `${line.slice(0, 299)}…` : line;
}

// the range's top products: the question the API reads, asked with the range's own dates
function topProductsQuestion() { return `top 10 products by revenue between ${$("from").value} and ${$("to").value}`; }

async function topProducts() {
  if (!$("from").value || !$("to").value) { rows("top-products", [], () => [], 3, "no range"); return; }
  const answer = await api("/api/queries", { question: topProductsQuestion() });
  $("products-range").textContent = $("from").value === $("to").value ? $("from").value : `${$("from").value} – ${$("to").value}`;
  rows("top-products", answer.rows, (r) => r, 3, "no products sold in the range");
}

async function feeds() {
  const [problems, alerts, activity] = await Promise.all([api("/api/errors?page_size=20"), api("/api/alerts?page_size=20"), api("/api/events/activity")]);
  rows("problems", problems.items, (p) => [p.source, p.kind, p.day, p.batch_id, p.file, p.line, p.reason, p.detail], 8, "no problems");
  rows("alerts", alerts.items, (a) => [(a.at || "").slice(0, 19).replace("T", " "), a.source, a.kind, said(a.message)], 4, "no alerts sent");
  rows("event-tables", Object.entries(activity.tables), ([table, n]) => [table, n], 2, "no events tables here");
  rows("event-days", activity.days.slice(-14).reverse(), (d) => [d.day, d.applied, d.updated, d.invalid, d.dlq], 5, "no events yet");
}

async function load() {
  showError(null);
  try {
    const q = query();
    const [orders, categories, runs] = await Promise.all([api(`/api/kpis/orders${q}`), api(`/api/kpis/categories${q}`), api("/api/runs?limit=20")]);
    if (orders.length && !$("from").value) { $("from").value = orders[0].order_date; $("to").value = orders[orders.length - 1].order_date; }
    $("category-range").textContent = $("from").value === $("to").value ? $("from").value : `${$("from").value} – ${$("to").value}`;
    cards(orders); revenueChart(orders); returnsChart(orders); categoryChart(categories); runsTable(runs);
    await Promise.all([errorsTable(), examples(), feeds(), topProducts()]);
    document.body.dataset.loaded = "true";
  } catch (err) { showError(err); }
}

$("range").addEventListener("submit", (e) => { e.preventDefault(); history.replaceState(null, "", `${location.pathname}${query()}${location.hash}`); load(); });
$("ask").addEventListener("submit", (e) => { e.preventDefault(); if ($("question").value.trim()) ask($("question").value); });
$("api-key").addEventListener("change", (e) => { localStorage.setItem("ecompipe-api-key", e.target.value); load(); });
$("report-close").addEventListener("click", () => { $("report-panel").hidden = true; history.replaceState(null, "", "#"); });
window.addEventListener("hashchange", () => { const m = location.hash.match(/^#report\/(.+)$/); if (m) showReport(decodeURIComponent(m[1])).catch(showError); });
rangeFromAddress();
load().then(() => { const m = location.hash.match(/^#report\/(.+)$/); if (m) showReport(decodeURIComponent(m[1])).catch(showError); });

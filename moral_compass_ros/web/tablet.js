/* Copyright 2026 The moral_compass_ros authors
   SPDX-License-Identifier: Apache-2.0 */
// Tablet page: live state over server-sent events, presses as CSRF-protected JSON POSTs.
// Vanilla JS, no external resources (the robot may have no internet); charts are inline SVG.
"use strict";
const SVG = "http://www.w3.org/2000/svg";
const COLOURS = ["#3b6fd8", "#d8793b", "#2e9e5b", "#b23bd8", "#d83b5e", "#3bb8d8", "#8a8f2e", "#6b4f2e"];
let csrf = "";
let state = null;
let busy = false;

const $ = (id) => document.getElementById(id);

function svgEl(name, attrs, text) {
  const el = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

function percent(x) { return (x === null || x === undefined) ? "–" : `${Math.round(100 * x)} %`; }

function drawBars(compass) {
  const chart = $("compass-chart");
  chart.replaceChildren();
  const names = compass.value_names, mean = compass.mean;
  const rowH = 150 / Math.max(names.length, 1), left = 92, width = 190;
  const top = Math.max(...mean, 1e-9);
  names.forEach((name, k) => {
    const y = 5 + k * rowH, h = Math.max(rowH * 0.62, 4);
    chart.append(svgEl("text", {x: left - 6, y: y + h * 0.8, "text-anchor": "end", class: "label"}, name));
    chart.append(svgEl("rect", {x: left, y, width: Math.max(width * mean[k] / top, 1), height: h,
                                rx: 3, class: "bar", fill: COLOURS[k % COLOURS.length],
                                "data-value": name}));
    chart.append(svgEl("text", {x: left + width * mean[k] / top + 4, y: y + h * 0.8, class: "value"},
                       percent(mean[k])));
  });
  chart.setAttribute("data-version", String(compass.version));
}

function drawHistory(history, names) {
  const chart = $("history-chart");
  chart.replaceChildren();
  const W = 320, H = 120, pad = 8;
  chart.append(svgEl("line", {x1: pad, y1: H - pad, x2: W - pad, y2: H - pad, class: "axis"}));
  if (history.length < 2) {
    chart.append(svgEl("text", {x: W / 2, y: H / 2, "text-anchor": "middle", class: "value"},
                       "the chart grows as the compass learns"));
    return;
  }
  const top = Math.max(...history.flatMap((h) => h.mean), 1e-9);
  const x = (i) => pad + (W - 2 * pad) * i / (history.length - 1);
  const y = (v) => H - pad - (H - 2 * pad) * v / top;
  names.forEach((name, k) => {
    const points = history.map((h, i) => `${x(i).toFixed(1)},${y(h.mean[k]).toFixed(1)}`).join(" ");
    chart.append(svgEl("polyline", {points, fill: "none", stroke: COLOURS[k % COLOURS.length],
                                    "stroke-width": 2, "data-value": name}));
  });
}

function render(s) {
  state = s;
  const sel = s.selection;
  $("action-label").textContent = sel ? sel.label : "waiting for the robot's first action…";
  $("predicted-approval").textContent = sel ? percent(sel.predicted_approval) : "–";
  $("approval-bar").style.width = sel && sel.predicted_approval !== null
    ? `${Math.round(100 * sel.predicted_approval)}%` : "0";
  for (const id of ["btn-up", "btn-down", "btn-unsure"]) $(id).disabled = busy || !sel;
  if (s.compass) {
    $("compass-version").textContent = `v${s.compass.version}`;
    drawBars(s.compass);
    drawHistory(s.history, s.compass.value_names);
    $("history-caption").textContent = s.history.length > 1
      ? `value means over versions v${s.history[0].version}–v${s.history[s.history.length - 1].version} (colours as above)`
      : "";
    const h = s.compass.entropy === null ? "–" : s.compass.entropy.toFixed(2);
    const ess = s.compass.ess === null ? "–" : s.compass.ess.toFixed(0);
    $("compass-stats").textContent = `entropy ${h} nats · effective particles ${ess} · ` +
      `${s.compass.applied_events} answers learned`;
  }
  $("counts").textContent = `${s.counts.up} good · ${s.counts.down} not good · ${s.counts.unsure} can't tell`;
}

function setStatus(text, ok) {
  const el = $("press-status");
  el.textContent = text;
  el.className = "status " + (ok ? "ok" : "err");
}

async function press(verdict) {
  if (busy || !state || !state.selection) return;
  busy = true;
  render(state);
  try {
    const response = await fetch("/api/press", {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
      body: JSON.stringify({verdict, request_id: state.selection.request_id}),
    });
    if (response.status === 401) { window.location.assign("/login"); return; }
    const body = await response.json().catch(() => ({}));
    if (response.ok) {
      const what = {up: "“Good” sent", down: "“Not good” sent", unsure: "Noted: can't tell (nothing sent)"}[verdict];
      setStatus(`${what} for “${state.selection.label}”`, true);
    } else {
      setStatus(`Not recorded: ${body.message || body.error || response.status}`, false);
    }
  } catch (e) {
    setStatus("Not recorded: the robot cannot be reached", false);
  } finally {
    busy = false;
    render(state);
  }
}

function connect() {
  const source = new EventSource("/events");
  source.addEventListener("open", () => { $("connection").textContent = "live"; $("connection").className = "pill online"; });
  source.addEventListener("state", (event) => render(JSON.parse(event.data)));
  source.addEventListener("logout", () => window.location.assign("/login"));
  source.addEventListener("error", async () => {
    $("connection").textContent = "offline";
    $("connection").className = "pill offline";
    const response = await fetch("/api/session", {credentials: "same-origin"}).catch(() => null);
    if (response && response.status === 401) { source.close(); window.location.assign("/login"); }
  });
}

async function start() {
  const response = await fetch("/api/session", {credentials: "same-origin"});
  if (!response.ok) { window.location.assign("/login"); return; }
  const session = await response.json();
  csrf = session.csrf;
  $("operator-name").textContent = session.operator;
  $("btn-up").addEventListener("click", () => press("up"));
  $("btn-down").addEventListener("click", () => press("down"));
  $("btn-unsure").addEventListener("click", () => press("unsure"));
  $("logout").addEventListener("click", async () => {
    await fetch("/api/logout", {method: "POST", credentials: "same-origin",
                                headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
                                body: "{}"}).catch(() => null);
    window.location.assign("/login");
  });
  connect();
}

start();

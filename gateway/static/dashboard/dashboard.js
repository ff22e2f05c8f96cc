// The dashboard: it signs in at /auth/token and reads everything through the public GraphQL API, as any
// client would; charts are SVG drawn here, with nothing loaded from elsewhere (closed networks).
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const state = { token: null, trail: [] };
const number = new Intl.NumberFormat("vi-VN");

async function graphql(query, variables) {
  const response = await fetch("/graphql", {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${state.token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors && body.errors.length) {
    throw new Error(body.errors.map((e) => e.message).join("; "));
  }
  return body.data;
}

async function signIn(event) {
  event.preventDefault();
  const form = new FormData(event.target);
  const error = document.getElementById("signin-error");
  error.textContent = "";
  const response = await fetch("/auth/token", {
    method: "POST",
    body: new URLSearchParams({ grant_type: "password", username: form.get("username"), password: form.get("password") }),
  });
  const body = await response.json();
  if (!response.ok) {
    error.textContent = body.error_description || "Đăng nhập không thành công";
    return;
  }
  state.token = body.access_token;
  document.getElementById("who").textContent = `Tài khoản: ${form.get("username")}`;
  document.getElementById("who").hidden = false;
  document.getElementById("signin").hidden = true;
  document.getElementById("board").hidden = false;
  try {
    await start();
  } catch (failure) {
    document.getElementById("board-error").textContent = failure.message;
  }
}

async function start() {
  // The top-level units the caller's scope reaches: a ministry's HR sees its own ministry only.
  const data = await graphql("{ workforceStats(groupBy: [TOP_LEVEL_UNIT]) { keys { code label } count } }");
  const tops = data.workforceStats.map((b) => ({ code: b.keys[0].code, name: b.keys[0].label }));
  if (tops.length === 1) {
    const unit = await unitByCode(tops[0].code);
    state.trail = [{ code: unit.code, name: unit.name, id: unit.id }];
  } else {
    state.trail = [{ code: null, name: "Toàn quốc", id: null }];
  }
  await show();
}

async function unitByCode(code) {
  const data = await graphql("query($c: String!) { unit(code: $c) { id code name } }", { c: code });
  return data.unit;
}

async function drill(code) {
  const unit = await unitByCode(code);
  state.trail.push({ code: unit.code, name: unit.name, id: unit.id });
  await show();
}

function renderTrail() {
  const nav = document.getElementById("trail");
  nav.replaceChildren();
  state.trail.forEach((step, i) => {
    if (i > 0) {
      const sep = document.createElement("span");
      sep.className = "sep";
      sep.textContent = "›";
      nav.append(sep);
    }
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = step.name;
    button.dataset.unit = step.code || "";
    button.addEventListener("click", () => {
      state.trail = state.trail.slice(0, i + 1);
      show();
    });
    nav.append(button);
  });
}

async function show() {
  renderTrail();
  const here = state.trail[state.trail.length - 1];
  const error = document.getElementById("board-error");
  error.textContent = "";
  try {
    const parts = await children(here);
    const unitArg = here.code ? `unitId: ${JSON.stringify(here.code)}` : "";
    const counts = parts.map(
      (p, i) => `c${i}: workforceStats(groupBy: [TOP_LEVEL_UNIT], unitId: ${JSON.stringify(p.code)}) { count suppressed }`,
    );
    const staffing = here.code
      ? `staffing(unitId: ${JSON.stringify(here.code)}) { quota filled vacancies overQuota units { unit { code name } quota filled } }`
      : "";
    const data = await graphql(`{
      ${counts.join("\n")}
      pyramid: workforceStats(groupBy: [AGE_BAND, GENDER] ${unitArg}) { keys { code label } count suppressed }
      ranks: workforceStats(groupBy: [RANK] ${unitArg}) { keys { code label } count suppressed }
      qualifications: workforceStats(groupBy: [QUALIFICATION] ${unitArg}) { keys { code label } count suppressed }
      ${staffing}
    }`);
    const headcount = parts.map((p, i) => ({ code: p.code, label: p.name, value: sum(data[`c${i}`]) }));
    bars("headcount", headcount.filter((d) => d.value > 0), here.code ? drill : drillTop);
    pyramid(data.pyramid);
    bars("ranks", single(data.ranks));
    bars("qualifications", single(data.qualifications));
    staffingChart(data.staffing);
    document.getElementById("board").dataset.shown = here.code || "";
  } catch (failure) {
    error.textContent = failure.message;
  }
}

function drillTop(code) {
  return drill(code);
}

async function children(here) {
  if (!here.code) {
    const data = await graphql("{ units { code name } }");
    return data.units;
  }
  const data = await graphql("query($c: String!) { unit(code: $c) { children { code name } } }", { c: here.code });
  return data.unit.children;
}

function sum(buckets) {
  return buckets.reduce((total, b) => total + (b.count || 0), 0);
}

function single(buckets) {
  return buckets
    .map((b) => ({ code: b.keys[0].code, label: b.keys[0].label, value: b.count || 0, suppressed: b.suppressed }))
    .sort((a, b) => b.value - a.value);
}

function svg(width, height) {
  const element = document.createElementNS(SVG, "svg");
  element.setAttribute("viewBox", `0 0 ${width} ${height}`);
  element.setAttribute("width", "100%");
  element.setAttribute("role", "img");
  return element;
}

function node(name, attributes, text) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
  if (text !== undefined) element.textContent = text;
  return element;
}

// A label that fits its column: cut with an ellipsis, the whole of it in a tooltip.
function label(x, y, text) {
  const shown = text.length > 34 ? `${text.slice(0, 33)}…` : text;
  const element = node("text", { x, y, "text-anchor": "end" }, shown);
  element.append(node("title", {}, text));
  return element;
}

function place(id, element, note) {
  const chart = document.querySelector(`#${id} .chart`);
  chart.replaceChildren(element);
  if (note) {
    const p = document.createElement("p");
    p.className = "totals";
    p.textContent = note;
    chart.append(p);
  }
}

// Horizontal bars, one per datum; a click drills into the datum's unit when `onClick` is given.
function bars(id, data, onClick) {
  const row = 22;
  const width = 560;
  const labelWidth = 230;
  const most = Math.max(1, ...data.map((d) => d.value));
  const chart = svg(width, Math.max(row, data.length * row) + 4);
  data.forEach((d, i) => {
    const y = i * row + 2;
    const length = ((width - labelWidth - 70) * d.value) / most;
    chart.append(label(labelWidth - 6, y + 14, d.label));
    const bar = node("rect", { x: labelWidth, y, width: Math.max(length, 1), height: row - 6, class: "bar" });
    bar.dataset.code = d.code || "";
    if (onClick && d.code) {
      bar.classList.add("clickable");
      bar.addEventListener("click", () => onClick(d.code));
    }
    chart.append(bar);
    chart.append(node("text", { x: labelWidth + length + 6, y: y + 14 }, d.suppressed ? "ẩn" : number.format(d.value)));
  });
  const total = data.reduce((t, d) => t + d.value, 0);
  place(id, chart, `Tổng: ${number.format(total)}`);
}

// The age pyramid: men to the left, women to the right, the youngest band at the bottom.
function pyramid(buckets) {
  const bands = ["60+", "50-59", "40-49", "30-39", "<30"];
  const labels = { "60+": "Từ 60 tuổi", "50-59": "50–59 tuổi", "40-49": "40–49 tuổi", "30-39": "30–39 tuổi", "<30": "Dưới 30 tuổi" };
  const men = {};
  const women = {};
  for (const b of buckets) {
    const [band, gender] = b.keys;
    labels[band.code] = band.label;
    (gender.code === "NAM" ? men : women)[band.code] = b.count || 0;
  }
  const width = 560;
  const middle = width / 2;
  const row = 28;
  const most = Math.max(1, ...Object.values(men), ...Object.values(women));
  const chart = svg(width, bands.length * row + 24);
  bands.forEach((band, i) => {
    const y = i * row + 18;
    const left = ((middle - 90) * (men[band] || 0)) / most;
    const right = ((middle - 90) * (women[band] || 0)) / most;
    chart.append(node("rect", { x: middle - 45 - left, y, width: left, height: row - 6, class: "male" }));
    chart.append(node("rect", { x: middle + 45, y, width: right, height: row - 6, class: "female" }));
    chart.append(node("text", { x: middle, y: y + 16, "text-anchor": "middle" }, labels[band] || band));
    chart.append(node("text", { x: middle - 50 - left, y: y + 16, "text-anchor": "end" }, number.format(men[band] || 0)));
    chart.append(node("text", { x: middle + 50 + right, y: y + 16 }, number.format(women[band] || 0)));
  });
  chart.append(node("text", { x: middle - 50, y: 12, "text-anchor": "end" }, "Nam"));
  chart.append(node("text", { x: middle + 50, y: 12 }, "Nữ"));
  place("pyramid", chart);
}

// Quota against filled posts, per unit: the quota as a light bar, the filled posts over it.
function staffingChart(staffing) {
  if (!staffing) {
    place("staffing", svg(10, 10), "Chọn một bộ, tỉnh để xem biên chế.");
    return;
  }
  const units = staffing.units.filter((u) => u.quota > 0 || u.filled > 0).slice(0, 15);
  const row = 22;
  const width = 560;
  const labelWidth = 230;
  const most = Math.max(1, ...units.map((u) => Math.max(u.quota, u.filled)));
  const chart = svg(width, Math.max(row, units.length * row) + 4);
  units.forEach((u, i) => {
    const y = i * row + 2;
    const scale = (width - labelWidth - 90) / most;
    chart.append(label(labelWidth - 6, y + 14, u.unit.name));
    chart.append(node("rect", { x: labelWidth, y, width: u.quota * scale, height: row - 6, class: "quota" }));
    const over = u.filled > u.quota;
    chart.append(node("rect", { x: labelWidth, y: y + 4, width: u.filled * scale, height: row - 14, class: over ? "over" : "filled" }));
    chart.append(node("text", { x: labelWidth + Math.max(u.quota, u.filled) * scale + 6, y: y + 14 }, `${u.filled}/${u.quota}`));
  });
  place(
    "staffing",
    chart,
    `Biên chế: ${number.format(staffing.quota)} · Đã sử dụng: ${number.format(staffing.filled)} · ` +
      `Còn trống: ${number.format(staffing.vacancies)} · Vượt: ${number.format(staffing.overQuota)}`,
  );
}

document.getElementById("signin").addEventListener("submit", signIn);

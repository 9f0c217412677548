// Formats numbers and dates for the page's language, draws the charts, sorts tables and offers CSV downloads.
"use strict";

const LANG = document.documentElement.lang || "en";
const PERIOD_FORMATS = {
  week: { year: "numeric", month: "short", day: "numeric" },
  month: { year: "numeric", month: "long" },
  quarter: { year: "numeric", month: "short" },
  year: { year: "numeric" },
  date: { year: "numeric", month: "short", day: "numeric" },
};

function formatValue(value, format) {
  if (value === null || value === undefined || value === "") return "–";
  if (format === "text") return String(value);
  if (format === "period:quarter") {
    const day = new Date(String(value).slice(0, 10) + "T00:00:00Z");
    return `Q${Math.floor(day.getUTCMonth() / 3) + 1} ${day.getUTCFullYear()}`;
  }
  if (format.startsWith("period:") || format === "date") {
    const options = PERIOD_FORMATS[format.split(":")[1] || "date"];
    return new Intl.DateTimeFormat(LANG, { ...options, timeZone: "UTC" }).format(new Date(String(value).slice(0, 10) + "T00:00:00Z"));
  }
  if (format === "datetime") {
    return new Intl.DateTimeFormat(LANG, { dateStyle: "medium", timeStyle: "short" }).format(new Date(value));
  }
  const number = Number(value);
  // Rates arrive as percentages (0-100); the effect of rotation is a difference of two of them.
  if (format === "percent") return new Intl.NumberFormat(LANG, { style: "percent", maximumFractionDigits: 1 }).format(number / 100);
  if (format === "points") {
    return new Intl.NumberFormat(LANG, { style: "percent", maximumFractionDigits: 1, signDisplay: "exceptZero" }).format(number / 100);
  }
  if (format.startsWith("money:")) {
    return new Intl.NumberFormat(LANG, { style: "currency", currency: format.slice(6), maximumFractionDigits: 0 }).format(number);
  }
  return new Intl.NumberFormat(LANG).format(number);
}

function formatAll(root) {
  root.querySelectorAll("[data-format]").forEach((el) => {
    el.textContent = formatValue(el.dataset.value === "null" ? null : el.dataset.value, el.dataset.format);
  });
}

function cellValue(cell) {
  const raw = cell.dataset.value;
  if (raw === undefined) return cell.textContent.trim();
  if (raw === "null") return null;
  const number = Number(raw);
  return Number.isNaN(number) || raw === "" ? raw : number;
}

function sortTable(table, column, th) {
  const body = table.tBodies[0];
  const descending = th.getAttribute("aria-sort") !== "descending";
  table.querySelectorAll("th").forEach((h) => h.removeAttribute("aria-sort"));
  th.setAttribute("aria-sort", descending ? "descending" : "ascending");
  const rows = Array.from(body.rows);
  rows.sort((a, b) => {
    const x = cellValue(a.cells[column]);
    const y = cellValue(b.cells[column]);
    if (x === y) return 0;
    if (x === null) return 1;
    if (y === null) return -1;
    const order = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y), LANG);
    return descending ? -order : order;
  });
  rows.forEach((row) => body.appendChild(row));
}

function csvOf(table) {
  const quote = (text) => (/[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text);
  const lines = Array.from(table.rows).map((row) => Array.from(row.cells).map((cell) => {
    const raw = cell.dataset.value;
    return quote(raw === undefined || raw === "null" ? (raw === "null" ? "" : cell.textContent.trim()) : raw);
  }).join(","));
  return lines.join("\n") + "\n";
}

function offerCsv(table) {
  const link = document.querySelector(`a.csv[data-table="${table.id}"]`);
  if (!link) return;
  link.href = URL.createObjectURL(new Blob([csvOf(table)], { type: "text/csv;charset=utf-8" }));
  link.download = `${table.id}.csv`;
}

function axisFormat(spec) {
  const format = spec.series.length ? spec.series[0].format : "number";
  return format.startsWith("money:") ? "number" : format.replace("points", "percent");
}

function drawChart(spec) {
  const canvas = document.getElementById(`chart-${spec.id}`);
  if (!canvas || typeof Chart === "undefined") return;
  const palette = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2"];
  new Chart(canvas, {
    type: spec.type,
    data: {
      labels: spec.labels.map((label) => formatValue(label, spec.label_format)),
      datasets: spec.series.map((line, i) => ({
        label: line.label, data: line.values, borderColor: palette[i % palette.length],
        backgroundColor: palette[i % palette.length] + (spec.type === "line" ? "33" : "cc"), tension: 0.2,
        spanGaps: true,
      })),
    },
    options: {
      responsive: true, maintainAspectRatio: false, animation: false,
      interaction: { mode: "index", intersect: false },
      plugins: {
        tooltip: { callbacks: { label: (ctx) => `${ctx.dataset.label}: ${formatValue(ctx.raw, spec.series[ctx.datasetIndex].format)}` } },
      },
      scales: {
        y: { beginAtZero: true, ticks: { callback: (value) => formatValue(value, axisFormat(spec)) } },
      },
    },
  });
}

document.addEventListener("DOMContentLoaded", () => {
  formatAll(document);
  const data = document.getElementById("chart-data");
  if (data) JSON.parse(data.textContent).forEach(drawChart);
  document.querySelectorAll("table.sortable").forEach((table) => {
    table.querySelectorAll("thead th").forEach((th, column) => {
      th.tabIndex = 0;
      th.addEventListener("click", () => { sortTable(table, column, th); offerCsv(table); });
      th.addEventListener("keydown", (e) => { if (e.key === "Enter") { sortTable(table, column, th); offerCsv(table); } });
    });
  });
  document.querySelectorAll("table.data").forEach(offerCsv);
  document.body.dataset.ready = "true";
});

// Progressive enhancement only: every page works without this file (tables, forms, links).
import { initAll } from "./govuk-frontend.min.js";

document.body.classList.add("js-enabled");
if ("noModule" in HTMLScriptElement.prototype) {
  document.body.classList.add("govuk-frontend-supported");
}
initAll();

// A chart drawn from the table that follows it: the table is the source and stays on the
// page, so the chart adds nothing a screen reader or keyboard user would miss.
const colours = ["#1d70b8", "#d4351c", "#00703c", "#6f72af", "#f47738", "#28a197"];
const dashes = [[], [6, 4], [2, 3], [10, 3, 2, 3], [1, 1], [8, 8]];

function number(text) {
  const value = parseFloat(text.replace(/[^0-9.\-]/g, ""));
  return Number.isFinite(value) ? value : null;
}

for (const figure of document.querySelectorAll("[data-chart-table]")) {
  const table = document.getElementById(figure.dataset.chartTable);
  if (!table || typeof window.Chart === "undefined") continue;
  const headers = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
  const rows = [...table.querySelectorAll("tbody tr")];
  // Series are the table's columns (a trend over months down the side) or, with "rows",
  // its rows (groups down the side, periods across).
  const byRows = figure.dataset.chartColumns === "rows";
  const labels = byRows ? headers.slice(1) : rows.map((tr) => tr.cells[0].textContent.trim());
  const series = byRows
    ? rows.map((tr) => ({
        name: tr.cells[0].textContent.trim(),
        values: [...tr.cells].slice(1).map((td) => number(td.dataset.value ?? "")),
      }))
    : (figure.dataset.chartColumns || "1").split(",").map((column) => ({
        name: headers[Number(column)],
        values: rows.map((tr) => number(tr.cells[Number(column)]?.dataset.value ?? "")),
      }));
  const datasets = series
    .filter((s) => s.values.some((v) => v !== null))
    .map((s, i) => ({
    label: s.name,
    data: s.values,
    borderColor: colours[i % colours.length],
    backgroundColor: colours[i % colours.length],
    borderDash: dashes[i % dashes.length],
    pointStyle: ["circle", "rect", "triangle", "rectRot", "star", "cross"][i % 6],
    pointRadius: 4,
    spanGaps: false,
  }));
  const canvas = document.createElement("canvas");
  // The figure's caption and the table say what the chart shows; the canvas is a picture of it.
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", figure.dataset.chartSummary || "Chart of the table below");
  figure.querySelector(".harbour-chart").appendChild(canvas);
  new window.Chart(canvas, {
    type: figure.dataset.chartType || "line",
    data: { labels, datasets },
    options: {
      animation: false,
      maintainAspectRatio: false,
      scales: {
        y: {
          beginAtZero: true,
          suggestedMax: figure.dataset.chartMax ? Number(figure.dataset.chartMax) : undefined,
        },
      },
      plugins: { legend: { labels: { usePointStyle: true } } },
    },
  });
}

// ChatterTrack conversation analytics: the page's charts, drawn from its own data.  Every
// chart has a table with the same numbers next to it; without this script the page still
// works (the tables, the selection form, the pages of feedback and the exports).
"use strict";

(function () {
  const data = JSON.parse(document.getElementById("chart-data")?.textContent || "{}");
  const AGENT = "hsl(221, 70%, 50%)";
  const VISITOR = "hsl(38, 90%, 55%)";
  const CONVERSATIONS = "hsl(150, 55%, 32%)";
  const TEXT = "hsl(221, 70%, 50%)";
  const VIDEO = "hsl(280, 45%, 55%)";
  const CTR = "hsl(199, 80%, 40%)";
  const RATING = "hsl(150, 55%, 38%)";

  // The same shapes as the tables (collector/pages/formatting.py): $1,234.50, 12.5 %, 4.25.
  function money(currency) {
    const format = new Intl.NumberFormat("en-US", { style: "currency", currency });
    return (value) => format.format(value);
  }

  function percent(value) {
    return Number(value).toFixed(1) + " %";
  }

  function integer(value) {
    return Number(value).toLocaleString("en-US");
  }

  function number(value) {
    return Number(value).toFixed(2);
  }

  function formatter(kind, currency) {
    if (kind === "money") return money(currency);
    if (kind === "percent") return percent;
    if (kind === "number") return number;
    return integer;
  }

  function chart(id, config) {
    const canvas = document.getElementById(id);
    if (!canvas || typeof Chart === "undefined") return;
    config.options = Object.assign({ animation: false, maintainAspectRatio: false, responsive: true }, config.options);
    new Chart(canvas, config);
  }

  function tooltip(valueText) {
    return {
      callbacks: {
        label: (c) => (c.dataset.label ? c.dataset.label + ": " : " ") + (c.parsed.y === null ? "–" : valueText(c.parsed.y)),
      },
    };
  }

  function line(label, values, colour, extra) {
    return Object.assign({ type: "line", label, data: values, borderColor: colour, backgroundColor: colour, pointRadius: 3, tension: 0 }, extra);
  }

  if (data.daily) {
    const d = data.daily;
    chart("daily-chart", {
      type: "bar",
      data: {
        labels: d.labels,
        datasets: [
          line("Conversations", d.conversations, CONVERSATIONS, { stack: "conversations", order: 0 }),
          { label: "Requests by agents", data: d.agent, backgroundColor: AGENT, stack: "requests", order: 1 },
          { label: "Requests by visitors", data: d.visitor, backgroundColor: VISITOR, stack: "requests", order: 1 },
        ],
      },
      options: {
        scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0, callback: integer } } },
        plugins: { tooltip: tooltip(integer) },
      },
    });
  }

  if (data.rates) {
    const r = data.rates;
    chart("rates-chart", {
      type: "line",
      data: {
        labels: r.labels,
        datasets: [
          line("Widget CTR", r.ctr, CTR),
          line("Visitor acceptance", r.visitor, VISITOR),
          line("Agent acceptance", r.agent, AGENT, { borderDash: [6, 4] }),
        ],
      },
      options: {
        scales: { y: { beginAtZero: true, suggestedMax: 100, ticks: { callback: percent } } },
        plugins: { tooltip: tooltip(percent) },
      },
    });
  }

  if (data.hours) {
    const h = data.hours;
    chart("hours-chart", {
      type: "bar",
      data: {
        labels: h.labels,
        datasets: [
          { label: "Text requests", data: h.text, backgroundColor: TEXT },
          { label: "Call requests", data: h.video, backgroundColor: VIDEO },
        ],
      },
      options: {
        scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0, callback: integer } } },
        plugins: { tooltip: tooltip(integer) },
      },
    });
  }

  if (data.distribution) {
    const d = data.distribution;
    chart("distribution-chart", {
      type: "bar",
      data: { labels: d.labels, datasets: [{ label: "Responses", data: d.values, backgroundColor: d.colours }] },
      options: {
        scales: { y: { beginAtZero: true, ticks: { precision: 0, callback: integer } } },
        plugins: { legend: { display: false }, tooltip: tooltip(integer) },
      },
    });
  }

  if (data.rating) {
    chart("rating-chart", {
      type: "line",
      data: { labels: data.rating.labels, datasets: [line("Average rating", data.rating.average, RATING)] },
      options: {
        scales: { y: { min: 1, max: 5, ticks: { stepSize: 1 } } },
        plugins: { legend: { display: false }, tooltip: tooltip(number) },
      },
    });
  }

  if (data.agents && data.agents.lines.length) {
    const a = data.agents;
    const text = formatter(a.format, a.currency);
    chart("agents-chart", {
      type: "line",
      data: { labels: a.labels, datasets: a.lines.map((l) => line(l.label, l.values, l.colour)) },
      options: {
        scales: { y: { beginAtZero: true, ticks: { callback: text } } },
        plugins: { legend: { position: "right" }, tooltip: tooltip(text) },
      },
    });
  }

  // Editing a date means a custom range.
  const preset = document.getElementById("preset");
  ["start", "end"].forEach((id) => {
    document.getElementById(id)?.addEventListener("change", () => { if (preset) preset.value = "custom"; });
  });

  document.body.dataset.ready = "true";
})();

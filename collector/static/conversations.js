// ChatterTrack conversation analytics: the page's charts, drawn from its own data.  Every
// chart has a table with the same numbers next to it; without this script the page still
// works (the tables, the selection form, the pages of feedback and the exports).
"use strict";

(function () {
  const data = JSON.parse(document.getElementById("chart-data")?.textContent || "{}");
  const charts = window.ChatterCharts;
  // One colour per meaning on the page (collector/pages/colours.py), never a chatter's.
  const colour = data.colours || {};
  const daily = { today: data.today || null };

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
    charts.draw("daily-chart", {
      type: "bar",
      data: {
        labels: d.labels,
        datasets: [
          line("Conversations", d.conversations, colour.conversations, { stack: "conversations", order: 0 }),
          { label: "Requests by agents", data: d.agent, backgroundColor: colour.agent, stack: "requests", order: 1 },
          { label: "Requests by visitors", data: d.visitor, backgroundColor: colour.visitor, stack: "requests", order: 1 },
        ],
      },
      options: {
        scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0, callback: integer } } },
        plugins: { tooltip: tooltip(integer) },
      },
    }, daily);
  }

  if (data.rates) {
    const r = data.rates;
    charts.draw("rates-chart", {
      type: "line",
      data: {
        labels: r.labels,
        datasets: [
          line("Widget CTR", r.ctr, colour.ctr),
          line("Visitor acceptance", r.visitor, colour.visitor),
          line("Agent acceptance", r.agent, colour.agent, { pointStyle: "rectRot", pointRadius: 4 }),
        ],
      },
      options: {
        scales: { y: { beginAtZero: true, suggestedMax: 100, ticks: { callback: percent } } },
        plugins: { tooltip: tooltip(percent) },
      },
    }, daily);
  }

  if (data.hours) {
    const h = data.hours;
    charts.draw("hours-chart", {
      type: "bar",
      data: {
        labels: h.labels,
        datasets: [
          { label: "Text requests", data: h.text, backgroundColor: colour.text },
          { label: "Video call requests", data: h.video, backgroundColor: colour.video_call },
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
    charts.draw("distribution-chart", {
      type: "bar",
      data: { labels: d.labels, datasets: [{ label: "Responses", data: d.values, backgroundColor: d.colours }] },
      options: {
        scales: { y: { beginAtZero: true, ticks: { precision: 0, callback: integer } } },
        plugins: { legend: { display: false }, tooltip: tooltip(integer) },
      },
    });
  }

  if (data.rating) {
    charts.draw("rating-chart", {
      type: "line",
      data: { labels: data.rating.labels, datasets: [line("Average rating", data.rating.average, colour.rating)] },
      options: {
        scales: { y: { min: 1, max: 5, ticks: { stepSize: 1 } } },
        plugins: { legend: { display: false }, tooltip: tooltip(number) },
      },
    }, daily);
  }

  if (data.agents && data.agents.lines.length) {
    const a = data.agents;
    const text = formatter(a.format, a.currency);
    charts.draw("agents-chart", {
      type: "line",
      data: { labels: a.labels, datasets: a.lines.map((l) => line(l.label, l.values, l.colour)) },
      options: {
        scales: { y: { beginAtZero: true, ticks: { callback: text } } },
        plugins: { legend: { position: "right" }, tooltip: tooltip(text) },
      },
    }, daily);
  }

  // Editing a date means a custom range.
  const preset = document.getElementById("preset");
  ["start", "end"].forEach((id) => {
    document.getElementById(id)?.addEventListener("change", () => { if (preset) preset.value = "custom"; });
  });

  document.body.dataset.ready = "true";
})();

// ChatterTrack dashboard: charts from the page's own data, a live table search, and export
// tables, export links that follow what the table shows.  Every chart has a table
// with the same numbers next to it; without this script the pages still work.
"use strict";

(function () {
  const data = JSON.parse(document.getElementById("chart-data")?.textContent || "{}");
  const PPV = "hsl(221, 70%, 50%)";
  const TIPS = "hsl(150, 55%, 42%)";
  const ACTIVE = "hsl(150, 55%, 42%)";
  const INACTIVE = "hsl(38, 90%, 55%)";
  const PAUSED = "hsl(220, 9%, 65%)";

  // The same shapes as the tables (collector/pages/formatting.py): $1,234.50, 12:05, 2 min 05 s.
  function money(currency) {
    const format = new Intl.NumberFormat("en-US", { style: "currency", currency });
    return (value) => format.format(value);
  }

  function hours(value) {
    const minutes = Math.floor(value * 60 + 1e-9);
    return Math.floor(minutes / 60) + ":" + String(minutes % 60).padStart(2, "0");
  }

  function wait(seconds) {
    const whole = Math.round(seconds);
    if (whole < 60) return whole + " s";
    if (whole < 3600) return Math.floor(whole / 60) + " min " + String(whole % 60).padStart(2, "0") + " s";
    return Math.floor(whole / 3600) + " h " + String(Math.floor((whole % 3600) / 60)).padStart(2, "0") + " min";
  }

  function formatter(kind, currency) {
    if (kind === "money") return money(currency);
    if (kind === "hm") return (seconds) => hours(seconds / 3600);
    if (kind === "wait") return wait;
    return (value) => Number(value).toLocaleString("en-US");
  }

  function chart(id, config) {
    const canvas = document.getElementById(id);
    if (!canvas || typeof Chart === "undefined") return;
    config.options = Object.assign({ animation: false, maintainAspectRatio: false, responsive: true }, config.options);
    new Chart(canvas, config);
  }

  function stacked(labels, series, valueText) {
    return {
      type: "bar",
      data: { labels, datasets: series.map(([label, values, colour]) => ({ label, data: values, backgroundColor: colour })) },
      options: {
        scales: { x: { stacked: true }, y: { stacked: true, ticks: { callback: valueText } } },
        plugins: { tooltip: { callbacks: { label: (c) => c.dataset.label + ": " + valueText(c.parsed.y) } } },
      },
    };
  }

  if (data.top) {
    const slices = data.top.slices;
    const isPie = data.top.kind === "pie";
    const text = formatter(data.top.format, data.top.currency);
    const tooltip = { callbacks: { label: (c) => " " + text(isPie ? c.parsed : c.parsed.x) } };
    chart("top-chart", {
      type: isPie ? "pie" : "bar",
      data: {
        labels: slices.map((s) => s.label),
        datasets: [{ data: slices.map((s) => s.value), backgroundColor: slices.map((s) => s.colour) }],
      },
      options: isPie
        ? { plugins: { legend: { position: "right" }, tooltip } }
        : { indexAxis: "y", scales: { x: { ticks: { callback: text } } }, plugins: { legend: { display: false }, tooltip } },
    });
  }
  if (data.revenue) {
    const text = money(data.revenue.currency);
    chart("revenue-chart", stacked(data.revenue.labels, [["PPV sales", data.revenue.ppv, PPV], ["Tips", data.revenue.tips, TIPS]], text));
  }
  if (data.activity) {
    const a = data.activity;
    chart("activity-chart", stacked(a.labels, [["Active", a.active, ACTIVE], ["Inactive", a.inactive, INACTIVE], ["Paused", a.paused, PAUSED]], hours));
  }

  // Export links (and the links that reload this page: sorting, ranking) carry the
  // table's search, so a file holds what is on screen and a reload keeps it.
  function updateExports(tableId, changes) {
    const links = 'a.export[data-table="' + tableId + '"], a.sort, nav.toolbar a';
    document.querySelectorAll(links).forEach((link) => {
      const url = new URL(link.href, location.href);
      for (const [name, value] of Object.entries(changes)) {
        if (value) url.searchParams.set(name, value);
        else url.searchParams.delete(name);
      }
      link.href = url.pathname + url.search + url.hash;
    });
    document.querySelectorAll("form.filters").forEach((form) => {
      for (const [name, value] of Object.entries(changes)) {
        let field = form.querySelector('input[type=hidden][name="' + name + '"]');
        if (!field && value) {
          field = Object.assign(document.createElement("input"), { type: "hidden", name });
          form.appendChild(field);
        }
        if (field) field.value = value;
      }
    });
  }

  function keepInAddress(changes) {
    const url = new URL(location.href);
    for (const [name, value] of Object.entries(changes)) {
      if (value) url.searchParams.set(name, value);
      else url.searchParams.delete(name);
    }
    history.replaceState(null, "", url.pathname + url.search);
  }

  document.querySelectorAll("input[type=search][data-table]").forEach((input) => {
    const table = document.getElementById(input.dataset.table);
    const shown = document.getElementById("rows-shown");
    const noMatch = document.getElementById("no-match");
    input.addEventListener("input", () => {
      // The API's rule: the name or the key contains the text; the unattributed row is
      // not a chatter, so any search hides it.  The export link then holds these rows.
      const query = input.value.trim().toLowerCase();
      let count = 0;
      Array.from(table.tBodies[0].rows).forEach((row) => {
        if (row === noMatch) return;
        const name = row.dataset.name;
        const match = name === undefined ? query === "" : name.includes(query) || row.dataset.key.includes(query);
        row.hidden = !match;
        if (match) count += 1;
      });
      if (noMatch) noMatch.hidden = count > 0;
      if (shown) shown.textContent = count + (count === 1 ? " row" : " rows");
      updateExports(table.id, { q: input.value.trim() });
      keepInAddress({ q: input.value.trim() });
    });
  });

  // Editing a date means a custom range.
  const preset = document.getElementById("preset");
  ["start", "end"].forEach((id) => {
    document.getElementById(id)?.addEventListener("change", () => { if (preset) preset.value = "custom"; });
  });

  document.body.dataset.ready = "true";
})();

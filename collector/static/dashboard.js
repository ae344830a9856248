// ChatterTrack dashboard: charts from the page's own data (drawn by charts.js), a live
// table search, and export links that follow what the table shows.  Every chart has a table
// with the same numbers next to it; without this script the pages still work.
"use strict";

(function () {
  const data = JSON.parse(document.getElementById("chart-data")?.textContent || "{}");
  const charts = window.ChatterCharts;
  // One colour per meaning on the page (collector/pages/colours.py), never a chatter's.
  const colour = data.colours || {};
  const daily = { today: data.today || null };

  // The same shapes as the tables (collector/pages/formatting.py): $1,234.50, 34 h 00 min, 2 min 05 s.
  function money(currency) {
    const format = new Intl.NumberFormat("en-US", { style: "currency", currency });
    return (value) => format.format(value);
  }

  function wait(seconds) {
    const whole = Math.round(seconds);
    if (whole < 60) return whole + " s";
    if (whole < 3600) return Math.floor(whole / 60) + " min " + String(whole % 60).padStart(2, "0") + " s";
    return Math.floor(whole / 3600) + " h " + String(Math.floor((whole % 3600) / 60)).padStart(2, "0") + " min";
  }

  function formatter(kind, currency) {
    if (kind === "money") return money(currency);
    if (kind === "duration") return charts.duration;
    if (kind === "wait") return wait;
    return (value) => Number(value).toLocaleString("en-US");
  }

  function stacked(labels, series, valueText, axis) {
    return {
      type: "bar",
      data: { labels, datasets: series.map(([label, values, fill]) => ({ label, data: values, backgroundColor: fill })) },
      options: {
        scales: { x: { stacked: true }, y: Object.assign({ stacked: true, ticks: { callback: valueText } }, axis) },
        plugins: { tooltip: { callbacks: { label: (c) => c.dataset.label + ": " + valueText(c.parsed.y) } } },
      },
    };
  }

  if (data.top) {
    const slices = data.top.slices;
    const isPie = data.top.kind === "pie";
    const text = formatter(data.top.format, data.top.currency);
    const tooltip = { callbacks: { label: (c) => " " + text(isPie ? c.parsed : c.parsed.x) } };
    // Response times (the only bar ranking) on round steps: 10 s, 30 s, 1 min...
    const axis = data.top.format === "money" ? { ticks: { callback: text } } : charts.durationAxis(Math.max(0, ...slices.map((s) => s.value)));
    charts.draw("top-chart", {
      type: isPie ? "pie" : "bar",
      data: {
        labels: slices.map((s) => s.label),
        datasets: [{ data: slices.map((s) => s.value), backgroundColor: slices.map((s) => s.colour) }],
      },
      options: isPie
        ? { plugins: { legend: { position: "right" }, tooltip } }
        : { indexAxis: "y", scales: { x: axis }, plugins: { legend: { display: false }, tooltip } },
    });
  }
  if (data.revenue) {
    const text = money(data.revenue.currency);
    charts.draw("revenue-chart", stacked(data.revenue.labels, [["PPV sales", data.revenue.ppv, colour.ppv], ["Tips", data.revenue.tips, colour.tips]], text), daily);
  }
  if (data.activity) {
    const a = data.activity;
    const highest = Math.max(0, ...a.labels.map((_, i) => a.active[i] + a.inactive[i] + a.paused[i]));
    const series = [["Active", a.active, colour.active], ["Inactive", a.inactive, colour.inactive], ["Paused", a.paused, colour.paused]];
    charts.draw("activity-chart", stacked(a.labels, series, charts.duration, charts.durationAxis(highest)), daily);
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

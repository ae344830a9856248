// ChatterTrack dashboard: charts from the page's own data, sortable and searchable
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

  function money(currency) {
    const format = new Intl.NumberFormat(undefined, { style: "currency", currency });
    return (value) => format.format(value);
  }

  function hours(value) {
    const minutes = Math.floor(value * 60 + 1e-9);
    return Math.floor(minutes / 60) + ":" + String(minutes % 60).padStart(2, "0");
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
    chart("top-chart", {
      type: isPie ? "pie" : "bar",
      data: {
        labels: slices.map((s) => s.label),
        datasets: [{ data: slices.map((s) => s.value), backgroundColor: slices.map((s) => s.colour) }],
      },
      options: isPie
        ? { plugins: { legend: { position: "right" } } }
        : { indexAxis: "y", plugins: { legend: { display: false } } },
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

  // Export links carry the table's search and order, so a file holds what is on screen.
  function updateExports(tableId, changes) {
    document.querySelectorAll('a.export[data-table="' + tableId + '"]').forEach((link) => {
      const url = new URL(link.href, location.href);
      for (const [name, value] of Object.entries(changes)) {
        if (value) url.searchParams.set(name, value);
        else url.searchParams.delete(name);
      }
      link.href = url.pathname + url.search;
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

  function compare(a, b) {
    const x = a === "" ? null : Number(a);
    const y = b === "" ? null : Number(b);
    if (x !== null && y !== null && !Number.isNaN(x) && !Number.isNaN(y)) return x - y;
    return a.localeCompare(b, undefined, { sensitivity: "base" });
  }

  document.querySelectorAll("table.sortable").forEach((table) => {
    const headers = Array.from(table.tHead.rows[0].cells);
    headers.forEach((th, index) => {
      const button = th.querySelector("button.sort");
      if (!button) return;
      button.addEventListener("click", () => {
        const key = th.dataset.key;
        const order = table.dataset.sort === key && table.dataset.order === "asc" ? "desc" : "asc";
        const body = table.tBodies[0];
        const rows = Array.from(body.rows).filter((r) => r.cells.length > 1);
        const value = (row) => row.cells[index].dataset.value ?? "";
        const name = (row) => row.cells[0].dataset.value ?? "";
        rows.sort((a, b) => {
          const [va, vb] = [value(a), value(b)];
          if (va === "" || vb === "") return (va === "") - (vb === "");  // no value: last
          return (order === "asc" ? compare(va, vb) : compare(vb, va)) || compare(name(a), name(b));
        });
        rows.forEach((row) => body.appendChild(row));
        headers.forEach((h) => h.removeAttribute("aria-sort"));
        th.setAttribute("aria-sort", order === "asc" ? "ascending" : "descending");
        table.dataset.sort = key;
        table.dataset.order = order;
        updateExports(table.id, { sort: key, order });
        keepInAddress({ sort: key, order });
      });
    });
  });

  document.querySelectorAll("input[type=search][data-table]").forEach((input) => {
    const table = document.getElementById(input.dataset.table);
    const shown = document.getElementById("rows-shown");
    input.addEventListener("input", () => {
      const query = input.value.trim().toLowerCase();
      let count = 0;
      Array.from(table.tBodies[0].rows).forEach((row) => {
        // The unattributed row is not a chatter: a search hides it (as the API does).
        const match = row.dataset.name !== undefined ? row.dataset.name.includes(query) : query === "";
        row.hidden = !match;
        if (match && row.dataset.name) count += 1;
      });
      if (shown) shown.textContent = count + " rows";
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

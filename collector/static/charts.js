// What every page's charts share: how a duration reads (the rule of
// collector/pages/formatting.py), axes on round steps, and today's partial day drawn one
// way on every chart (hatched bars, a dashed line, in the series' own colours), with a
// note under the chart saying so.
"use strict";

window.ChatterCharts = (function () {
  // 34 h 00 min, 5 min, 44 s: rounded down, as formatting.duration.
  function duration(seconds) {
    const whole = Math.floor(seconds + 1e-9);
    if (whole < 60) return whole + " s";
    const minutes = Math.floor(whole / 60);
    if (minutes < 60) return minutes + " min";
    return Math.floor(minutes / 60) + " h " + String(minutes % 60).padStart(2, "0") + " min";
  }

  // An axis tick: 0, 30 s, 15 min, 2 h, 1 h 30 min (ticks fall on round steps).
  function tick(seconds) {
    if (seconds === 0) return "0";
    if (seconds < 60) return seconds + " s";
    if (seconds < 3600) return Math.round(seconds / 60) + " min";
    const minutes = Math.round(seconds / 60);
    return Math.floor(minutes / 60) + " h" + (minutes % 60 ? " " + (minutes % 60) + " min" : "");
  }

  // Round steps for a duration axis, in seconds: 1, 2, 5, 10, 15, 30 s; 1, 2, 5, 10, 15,
  // 30 min; 1, 2, 3, 6, 12 h; then whole days.
  const STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];

  function step(highest, ticks) {
    const most = ticks || 5;
    if (!(highest > 0)) return 3600;
    for (const s of STEPS) if (highest / s <= most) return s;
    return Math.ceil(highest / most / 86400) * 86400;
  }

  // A linear axis for durations in seconds: round steps, labels with units.
  function durationAxis(highest) {
    const size = step(highest);
    return {
      beginAtZero: true,
      max: Math.max(size, Math.ceil(highest / size) * size),
      ticks: { stepSize: size, callback: tick },
    };
  }

  // Today's bar keeps its series' colour (a colour means one thing) and is hatched with
  // white stripes, so it reads as partial without turning into another series' shade.
  function hatched(colour) {
    const tile = document.createElement("canvas");
    tile.width = tile.height = 8;
    const pen = tile.getContext("2d");
    pen.fillStyle = colour;
    pen.fillRect(0, 0, 8, 8);
    pen.strokeStyle = "rgba(255, 255, 255, 0.8)";
    pen.lineWidth = 1.5;
    pen.beginPath();
    for (const x of [-8, 0, 8]) { pen.moveTo(x, 8); pen.lineTo(x + 8, 0); }
    pen.stroke();
    return pen.createPattern(tile, "repeat");
  }

  // Today is not over: its bar is hatched in the same colour, a line's last stretch dashed
  // and its point hollow. The legend keeps each series' full colour (chart.js resolves
  // the legend's swatch from the dataset options, so it is set there explicitly).
  function markPartial(config, today) {
    const at = today ? config.data.labels.indexOf(today) : -1;
    if (at < 0) return false;
    config.data.datasets.forEach((set) => {
      const colour = set.backgroundColor || set.borderColor;
      if (typeof colour !== "string") return;
      set.seriesColour = colour;
      if ((set.type || config.type) === "line") {
        set.segment = { borderDash: (c) => (c.p1DataIndex === at ? [5, 4] : undefined) };
        set.pointBackgroundColor = (c) => (c.dataIndex === at ? "#fff" : colour);
        set.pointBorderColor = colour;
      } else {
        const pattern = hatched(colour);
        set.backgroundColor = (c) => (c.type === "data" && c.dataIndex === at ? pattern : colour);
        set.borderColor = colour;
        set.borderWidth = (c) => (c.type === "data" && c.dataIndex === at ? 1 : 0);
      }
    });
    return true;
  }

  // Legend swatches in each series' own colour, never today's hatching.
  function fullColourLegend(config) {
    const plugins = (config.options.plugins = config.options.plugins || {});
    const legend = (plugins.legend = plugins.legend || {});
    const labels = (legend.labels = legend.labels || {});
    const generate = labels.generateLabels || Chart.defaults.plugins.legend.labels.generateLabels;
    labels.generateLabels = (chart) => generate(chart).map((item) => {
      const set = chart.data.datasets[item.datasetIndex];
      if (set && set.seriesColour) {
        item.fillStyle = set.seriesColour;
        item.strokeStyle = set.seriesColour;
      }
      return item;
    });
  }

  // Draws a chart; a daily chart (``today`` given, or null when the range ends before
  // today) marks today's partial day and explains it under the chart.
  function draw(id, config, daily) {
    const canvas = document.getElementById(id);
    if (!canvas || typeof Chart === "undefined") return;
    config.options = Object.assign({ animation: false, maintainAspectRatio: false, responsive: true }, config.options);
    if (daily) {
      canvas.dataset.daily = "true";
      if (markPartial(config, daily.today)) {
        fullColourLegend(config);
        canvas.dataset.partial = "true";
        const note = document.createElement("p");
        note.className = "muted partial-note";
        note.id = id + "-partial";
        const bars = (config.type || "bar") === "bar" || config.data.datasets.some((s) => s.type === "bar");
        const lines = config.type === "line" || config.data.datasets.some((s) => s.type === "line");
        const how = [bars ? "hatched bars" : "", lines ? "a dashed line" : ""].filter(Boolean).join(" and ");
        note.textContent = daily.today + " is today so far (" + how + "): it is not complete.";
        canvas.parentElement.insertAdjacentElement("afterend", note);
      }
    }
    new Chart(canvas, config);
  }

  return { duration, tick, step, durationAxis, draw };
})();

// What every page's charts share: how a duration reads (the rule of
// collector/pages/formatting.py), axes on round steps, and today's partial day drawn one
// way on every chart, lighter and dashed, with a note under the chart saying so.
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

  function faded(colour) {
    if (/^#[0-9a-f]{6}$/i.test(colour)) return colour + "66";
    if (colour.startsWith("hsl(")) return colour.replace("hsl(", "hsla(").replace(/\)$/, ", 0.4)");
    return colour;
  }

  // Today is not over: its point or bar is drawn lighter, a line's last stretch dashed.
  function markPartial(config, today) {
    const at = today ? config.data.labels.indexOf(today) : -1;
    if (at < 0) return false;
    const lighter = (colour) => (c) => (c.dataIndex === at ? faded(colour) : colour);
    config.data.datasets.forEach((set) => {
      const colour = set.backgroundColor || set.borderColor;
      if (typeof colour !== "string") return;
      if ((set.type || config.type) === "line") {
        set.segment = { borderDash: (c) => (c.p1DataIndex === at ? [5, 4] : undefined) };
        set.pointBackgroundColor = lighter(colour);
        set.pointBorderColor = lighter(colour);
      } else {
        set.backgroundColor = lighter(colour);
      }
    });
    return true;
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
        canvas.dataset.partial = "true";
        const note = document.createElement("p");
        note.className = "muted partial-note";
        note.id = id + "-partial";
        note.textContent = daily.today + " is today so far: drawn lighter" + (config.type === "line" || config.data.datasets.some((s) => s.type === "line") ? " (dashed)" : "") + ", it is not complete.";
        canvas.parentElement.insertAdjacentElement("afterend", note);
      }
    }
    new Chart(canvas, config);
  }

  return { duration, tick, step, durationAxis, faded, draw };
})();

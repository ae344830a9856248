// The Now page (collector/pages/now.py): every few seconds, read GET /api/v1/presence and
// redraw the board in place, the same markup as the server's (templates/now.html).  Focus
// and scroll are kept; a failed read says so in the status line and tries again.  Without
// this script the page is complete as served, with a Reload link.
"use strict";

(function () {
  const root = document.getElementById("now-board");
  const status = document.getElementById("now-updated");
  if (!root || !status) return;
  const every = Math.max(5, Number(root.dataset.refresh) || 15) * 1000;
  const zone = root.dataset.zone || "UTC";
  const clock = new Intl.DateTimeFormat("en-GB", { timeZone: zone, hour: "2-digit", minute: "2-digit" });
  const clockSeconds = new Intl.DateTimeFormat("en-GB", {
    timeZone: zone, hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
  // The local day, to mark a shift that ends the next day "+1" as the server does.
  const localDay = new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" });

  // The same markup as _macros.html shift_span (times only, day=false).
  function span(startIso, endIso) {
    const start = new Date(startIso);
    const end = new Date(endIso);
    const later = Math.round((Date.parse(localDay.format(end)) - Date.parse(localDay.format(start))) / 86400000);
    let html = '<span class="nowrap"><time datetime="' + esc(start.toISOString()) + '">' + esc(clock.format(start)) + "</time>–" +
      '<time datetime="' + esc(end.toISOString()) + '">' + esc(clock.format(end)) + "</time>";
    if (later > 0) {
      html += ' <span class="next-day" aria-hidden="true">(+' + later + ')</span><span class="visually-hidden"> (ends ' +
        (later === 1 ? "the next day" : later + " days later") + ")</span>";
    }
    return html + "</span>";
  }

  function esc(text) {
    return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  }

  function chatterUrl(key) {
    return root.dataset.chatterUrl.replace("KEY", encodeURIComponent(key));
  }

  // The same words as pages/now.py state_text and pages/clock.py Clock.ago.
  function ago(iso, now) {
    const seconds = (now - Date.parse(iso)) / 1000;
    if (seconds < 60) return "just now";
    if (seconds < 3600) return Math.floor(seconds / 60) + " min ago";
    if (seconds < 2 * 86400) return Math.round(seconds / 3600) + " h ago";
    return Math.round(seconds / 86400) + " days ago";
  }

  function stateText(p, now) {
    if (p.state === "offline") return p.last_seen ? "offline · last data " + ago(p.last_seen, now) : "offline · no data yet";
    if (p.state === "idle" && p.idle_seconds) {
      const minutes = Math.floor(p.idle_seconds / 60);
      return minutes ? "idle " + minutes + " min" : "idle " + p.idle_seconds + " s";
    }
    return p.state;
  }

  function badge(p, now) {
    return '<span class="state state-' + esc(p.state) + '">' + esc(stateText(p, now)) + "</span>";
  }

  function link(p) {
    return '<a href="' + esc(chatterUrl(p.chatter)) + '">' + esc(p.name) + "</a>";
  }

  function creatorSection(c, index, now) {
    const online = c.scheduled_online;
    const head = c.scheduled.length
      ? '<span class="badge ' + (c.scheduled_offline ? "bad" : "ok") + '">' + online + " of " + c.scheduled.length + " scheduled online</span>"
      : '<span class="badge">nobody scheduled</span>';
    let html = '<section class="card now-creator" data-creator="' + esc(c.creator) + '" aria-labelledby="now-c-' + index + '">' +
      '<h2 id="now-c-' + index + '">' + esc(c.name) + " " + head + "</h2>";
    if (c.scheduled.length) {
      html += '<div class="table-wrap"><table class="now-table"><caption class="visually-hidden">Scheduled now for ' + esc(c.name) +
        '</caption><thead><tr><th scope="col">Scheduled now</th><th scope="col">Shift</th><th scope="col">State</th></tr></thead><tbody>';
      for (const s of c.scheduled) {
        html += '<tr data-chatter="' + esc(s.chatter) + '" data-state="' + esc(s.state) + '"' + (s.missing ? ' class="missing"' : "") + ">" +
          '<th scope="row">' + link(s) + "</th><td class=\"shift\">" + span(s.starts_at, s.ends_at) +
          (s.swapped ? ' <span class="badge">swap</span>' : "") + "</td><td>" + badge(s, now) +
          (s.missing ? ' <strong class="badge bad">missing</strong>' : "") + "</td></tr>";
      }
      html += "</tbody></table></div>";
    }
    html += '<h3 class="now-sub">Online without a shift</h3>';
    if (c.unscheduled_online.length) {
      html += '<ul class="now-list">' + c.unscheduled_online.map((p) =>
        '<li data-chatter="' + esc(p.chatter) + '" data-state="' + esc(p.state) + '">' + link(p) + " " + badge(p, now) + "</li>").join("") + "</ul>";
    } else {
      html += '<p class="muted">Nobody.</p>';
    }
    return html + "</section>";
  }

  function render(data) {
    const now = Date.parse(data.as_of);
    const names = Object.fromEntries(data.creators.map((c) => [c.creator, c.name]));
    let html = data.creators.length
      ? data.creators.map((c, i) => creatorSection(c, i + 1, now)).join("")
      : '<p class="empty card">No creators yet.</p>';
    html += '<section class="card now-all" aria-labelledby="now-all-h"><h2 id="now-all-h">All chatters</h2>' +
      '<div class="table-wrap"><table class="now-table"><caption class="visually-hidden">Every chatter\'s state now</caption>' +
      '<thead><tr><th scope="col">Chatter</th><th scope="col">State</th><th scope="col">Scheduled for</th></tr></thead><tbody>';
    html += data.chatters.length ? data.chatters.map((p) =>
      '<tr data-chatter="' + esc(p.chatter) + '" data-state="' + esc(p.state) + '"><th scope="row">' + link(p) + "</th><td>" + badge(p, now) +
      "</td><td>" + (p.scheduled_for.length ? esc(p.scheduled_for.map((k) => names[k] || k).join(", ")) : '<span class="muted">no shift now</span>') +
      "</td></tr>").join("") : '<tr><td colspan="3" class="muted">No chatters yet.</td></tr>';
    html += "</tbody></table></div></section>";

    // Keep the reader's place: the focused link (by its address) and the scroll position.
    const focused = document.activeElement && root.contains(document.activeElement) ? document.activeElement.getAttribute("href") : null;
    const scroll = window.scrollY;
    root.innerHTML = html;
    if (focused) root.querySelector('a[href="' + CSS.escape(focused) + '"]')?.focus({ preventScroll: true });
    window.scrollTo(0, scroll);
    status.innerHTML = 'Updated <time datetime="' + esc(data.as_of) + '">' + esc(clockSeconds.format(new Date(data.as_of))) + "</time> (" + esc(zone) +
      "); refreshes every " + every / 1000 + " s";
    root.dataset.loaded = data.as_of;
  }

  async function refresh() {
    try {
      const reply = await fetch(root.dataset.source, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!reply.ok) throw new Error(String(reply.status));
      render(await reply.json());
    } catch (error) {
      status.textContent = "Could not refresh (" + error.message + "); trying again in " + every / 1000 + " s";
    }
    window.setTimeout(refresh, every);
  }

  window.setTimeout(refresh, every);
})();

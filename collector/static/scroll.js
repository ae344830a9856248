// Every table too wide for its card says so: a line above it ("Scroll sideways …") and a
// shade on the edge with more columns behind it, gone once scrolled to the end.  The
// Schedules week tables bring their own frame and wording (admin/shifts.html); any other
// .table-wrap gets a frame here.  Without JavaScript the tables still scroll.
"use strict";

(() => {
  let made = 0;
  for (const wrap of document.querySelectorAll(".table-wrap")) {
    if (wrap.closest(".scroll-frame")) continue;
    const hint = document.createElement("p");
    hint.className = "scroll-hint";
    hint.id = `scroll-hint-${++made}`;
    hint.hidden = true;
    const arrows = document.createElement("span");
    arrows.setAttribute("aria-hidden", "true");
    arrows.textContent = "⇆";
    hint.append(arrows, " Scroll sideways for more columns.");
    const frame = document.createElement("div");
    frame.className = "scroll-frame";
    frame.dataset.hint = hint.id;
    wrap.before(hint, frame);
    frame.append(wrap);
  }

  const frames = Array.from(document.querySelectorAll(".scroll-frame"));

  function mark(frame) {
    const wrap = frame.querySelector(".table-wrap");
    const hint = document.getElementById(frame.dataset.hint);
    const over = wrap.scrollWidth - wrap.clientWidth > 1;
    frame.toggleAttribute("data-overflows", over);
    frame.toggleAttribute(
      "data-more-right",
      over && wrap.scrollLeft + wrap.clientWidth < wrap.scrollWidth - 1,
    );
    frame.toggleAttribute("data-scrolled", wrap.scrollLeft > 0);
    if (hint) {
      hint.setAttribute("data-js", "");
      hint.hidden = !over;
    }
    // A box that scrolls can be scrolled from the keyboard too.
    if (over && !wrap.hasAttribute("tabindex")) wrap.setAttribute("tabindex", "0");
  }

  for (const frame of frames) {
    // Marked before data-js takes the shade over: the shade then starts as it should be,
    // not faded in from the no-script look (a reader of its opacity sees it at once).
    mark(frame);
    frame.setAttribute("data-js", "");
    frame.querySelector(".table-wrap").addEventListener("scroll", () => mark(frame), {
      passive: true,
    });
  }
  window.addEventListener("resize", () => frames.forEach(mark));
})();

// Schedules: a day's heading in the week view fills the add-shift form with that day (and
// its creator) in place, and each week table says when it scrolls sideways.  Without
// JavaScript the heading is a link that reloads the page with the form filled, and the
// scroll cue shows on every narrow screen.
"use strict";

const form = document.getElementById("add-shift");
const said = document.getElementById("add-shift-picked");

for (const link of document.querySelectorAll("a.pick-day")) {
  link.addEventListener("click", (event) => {
    if (!form) return;
    event.preventDefault();
    const data = link.dataset;
    form.elements.first_day.value = data.day;
    for (const box of form.querySelectorAll('input[name="weekdays"]')) {
      box.checked = box.value === data.weekday;
    }
    const creator = form.elements.creator;
    if (creator && Array.from(creator.options).some((o) => o.value === data.creator)) {
      creator.value = data.creator;
    }
    const zone = form.elements.zone;
    if (zone && data.zone) zone.value = data.zone;
    if (said) said.textContent = `Set to ${data.label}: choose the chatter and the hours.`;
    history.replaceState(null, "", link.href);
    document.getElementById("add-shift-title").scrollIntoView({ block: "start" });
    form.elements.chatter.focus({ preventScroll: true });
  });
}

const frames = Array.from(document.querySelectorAll(".scroll-frame"));

function mark(frame) {
  const wrap = frame.querySelector(".table-wrap");
  const hint = document.getElementById(frame.dataset.hint);
  const over = wrap.scrollWidth - wrap.clientWidth > 1;
  frame.toggleAttribute("data-overflows", over);
  frame.toggleAttribute("data-more-right", over && wrap.scrollLeft + wrap.clientWidth < wrap.scrollWidth - 1);
  frame.toggleAttribute("data-scrolled", wrap.scrollLeft > 0);
  if (hint) hint.hidden = !over;
}

for (const frame of frames) {
  frame.setAttribute("data-js", "");
  frame.querySelector(".table-wrap").addEventListener("scroll", () => mark(frame), { passive: true });
  mark(frame);
}
window.addEventListener("resize", () => frames.forEach(mark));

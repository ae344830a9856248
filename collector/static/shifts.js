// Schedules: a day's heading in the week view fills the add-shift form with that day (and
// its creator) in place (the week tables' scroll cue is scroll.js's).  Without JavaScript
// the heading is a link that reloads the page with the form filled, and the scroll cue
// shows on every narrow screen.
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

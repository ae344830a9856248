// The Copy button next to a secret shown once.  Everything else on the admin pages
// works without JavaScript; without it, the button stays hidden and the text can be
// selected by hand.
"use strict";

for (const button of document.querySelectorAll("button[data-copy]")) {
  const target = document.getElementById(button.dataset.copy);
  const status = document.getElementById(button.dataset.status);
  if (!target) continue;
  const say = (text) => { if (status) status.textContent = text; };
  const select = () => {
    const range = document.createRange();
    range.selectNodeContents(target);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  };
  button.hidden = false;
  button.addEventListener("click", async () => {
    const text = target.textContent.trim();
    try {
      await navigator.clipboard.writeText(text);
      say("Copied to the clipboard.");
    } catch (_error) {
      // No clipboard access (an insecure origin, or permission refused): select the
      // text so Ctrl+C (⌘C on a Mac) copies it.
      select();
      say("Selected: press Ctrl+C (⌘C on a Mac) to copy it.");
    }
  });
}

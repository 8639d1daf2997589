// isogw compliance UI: small progressive enhancements; every form works without them
// (the server checks everything again).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // A waiver or a note needs text: say so before the round trip.
  for (const form of document.querySelectorAll("form.review")) {
    const action = form.querySelector("select[name=action]");
    const text = form.querySelector("input[name=text]");
    const sync = () => {
      const needs = action.value === "waive" || action.value === "annotate";
      text.required = needs;
      text.classList.toggle("required", needs && !text.value.trim());
    };
    action.addEventListener("change", sync);
    text.addEventListener("input", sync);
    sync();
  }
});

// Trace page: a span's row opens its attributes.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("tr.span-row").forEach((row) => {
    const detail = row.nextElementSibling;
    const toggle = () => {
      detail.hidden = !detail.hidden;
      row.setAttribute("aria-expanded", String(!detail.hidden));
    };
    row.addEventListener("click", (event) => {
      if (event.target.closest("a")) return; // the pattern link navigates
      toggle();
    });
    row.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        toggle();
      }
    });
  });
});

// Patterns page: choosing a filter applies it.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("filters");
  if (!form) return;
  form.querySelectorAll("select, input[type=checkbox]").forEach((control) => {
    control.addEventListener("change", () => form.requestSubmit());
  });
});

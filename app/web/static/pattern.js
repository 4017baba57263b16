// Pattern page: corrections through the API (verdict, description, name, split, merge),
// and copying the TraceQL query. A change reloads the page, so what it shows is what the
// store now holds.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-copy]").forEach((button) => {
    button.addEventListener("click", async () => {
      const text = document.getElementById(button.dataset.copy).textContent;
      try {
        await navigator.clipboard.writeText(text);
        button.textContent = "Copied";
      } catch (_) {
        window.getSelection().selectAllChildren(document.getElementById(button.dataset.copy));
        button.textContent = "Selected: copy it";
      }
      setTimeout(() => { button.textContent = "Copy"; }, 1800);
    });
  });

  const panel = document.getElementById("corrections");
  if (!panel) return;
  const pattern = panel.dataset.pattern;
  const api = "/api" + Spanwise.patternUrl(pattern);
  const author = document.getElementById("author");
  author.value = localStorage.getItem("spanwise.author") || "";
  author.addEventListener("change", () => {
    localStorage.setItem("spanwise.author", author.value.trim());
  });
  const who = () => author.value.trim() || "web";
  const { element } = Spanwise;

  const correct = (field, value, reason) =>
    Spanwise.postJson(api + "/corrections", { field, value, reason, author: who() });

  const actions = {
    async verdict(form) {
      const value = form.querySelector("input[name=value]:checked").value;
      const reason = form.elements.reason.value.trim();
      if (!reason) throw new Error("Say why: the reason is kept with the correction.");
      await correct("verdict", value, reason);
      Spanwise.flashAfterReload(`Verdict of ${pattern} set to ${value}.`);
      location.reload();
    },
    async description(form) {
      await correct("description", form.elements.value.value.trim(), "");
      Spanwise.flashAfterReload(`Description of ${pattern} saved.`);
      location.reload();
    },
    async name(form) {
      const value = form.elements.value.value.trim();
      const result = await correct("name", value, "");
      const now = result.pattern.name;
      Spanwise.flashAfterReload(`Renamed to ${now}; ${pattern} keeps resolving to it.`);
      location.assign(Spanwise.patternUrl(now));
    },
    async split(form) {
      const result = await Spanwise.postJson(api + "/split", {
        by: form.elements.by.value.trim(),
        resource: form.elements.resource.checked,
        force: form.elements.force.checked,
        author: who(),
      });
      const box = form.querySelector(".form-result");
      box.replaceChildren(element("p", `Done: ${result.override}.`));
      const list = element("ul");
      for (const row of result.patterns) {
        const item = element("li");
        const link = element("a", row.name, "mono");
        link.href = Spanwise.patternUrl(row.name);
        item.append(link, ` ${row.count.toLocaleString()} spans`);
        list.append(item);
      }
      if (result.patterns.length) box.append(list);
      for (const source of result.not_replayed) {
        box.append(element("p", `Not replayed: ${source}; only later spans fill the parts.`));
      }
      box.hidden = false;
    },
    async merge(form) {
      const into = form.elements.into.value;
      const result = await Spanwise.postJson(api + "/merge", { into, author: who() });
      const target = result.patterns.length ? result.patterns[0].name : into;
      Spanwise.flashAfterReload(`${pattern} merged into ${target}; its name resolves there.`);
      location.assign(Spanwise.patternUrl(target));
    },
  };

  panel.querySelectorAll("form.correction").forEach((form) => {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const error = form.querySelector(".form-error");
      const button = form.querySelector("button[type=submit]");
      error.hidden = true;
      button.disabled = true;
      try {
        await actions[form.dataset.action](form);
      } catch (failure) {
        error.textContent = failure.message;
        error.hidden = false;
      } finally {
        button.disabled = false;
      }
    });
  });
});

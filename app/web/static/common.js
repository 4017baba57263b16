// Shared by every page: a message left by the page before a reload ("Renamed to ...").
"use strict";

const Spanwise = (() => {
  const FLASH_KEY = "spanwise.flash";

  function flash(text) {
    const box = document.getElementById("flash");
    if (!box) return;
    box.textContent = text;
    box.hidden = false;
    clearTimeout(flash.timer);
    flash.timer = setTimeout(() => { box.hidden = true; }, 6000);
  }

  function flashAfterReload(text) {
    sessionStorage.setItem(FLASH_KEY, text);
  }

  document.addEventListener("DOMContentLoaded", () => {
    const left = sessionStorage.getItem(FLASH_KEY);
    if (left) {
      sessionStorage.removeItem(FLASH_KEY);
      flash(left);
    }
  });

  // POST JSON to the API; resolves to the answer's JSON, rejects with the API's detail.
  async function postJson(url, body) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(body),
    });
    let document_ = null;
    try { document_ = await response.json(); } catch (_) { /* not JSON */ }
    if (!response.ok) {
      throw new Error(detailOf(document_) || `${response.status} ${response.statusText}`);
    }
    return document_;
  }

  function detailOf(answer) {
    if (!answer || answer.detail === undefined) return "";
    if (typeof answer.detail === "string") return answer.detail;
    // FastAPI's validation errors: a list of {loc, msg}
    return answer.detail.map((e) => `${(e.loc || []).slice(1).join(".")}: ${e.msg}`).join("; ");
  }

  function patternUrl(name) {
    return "/patterns/" + encodeURIComponent(name);
  }

  function traceUrl(traceId) {
    return "/traces/" + encodeURIComponent(traceId);
  }

  // An element with text content only: span data never becomes markup.
  function element(tag, text, className) {
    const made = document.createElement(tag);
    if (text !== undefined && text !== null) made.textContent = text;
    if (className) made.className = className;
    return made;
  }

  return { flash, flashAfterReload, postJson, patternUrl, traceUrl, element };
})();

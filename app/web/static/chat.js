// Chat page: @ autocomplete over pattern names, answers streamed from /api/chat/stream
// (server-sent events read from the fetch body), cited patterns and traces as links.
// Everything from the server is put in the page as text, never as markup.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const { element } = Spanwise;
  const form = document.getElementById("ask-form");
  const box = document.getElementById("question");
  const list = document.getElementById("suggestions");
  const conversation = document.getElementById("conversation");
  const askButton = document.getElementById("ask-button");
  let conversationId = null;

  // --- @ autocomplete ------------------------------------------------------------------
  let hits = [];
  let active = -1;
  let token = null;
  let pending = null;
  let timer = null;

  function tokenAtCaret() {
    const upto = box.value.slice(0, box.selectionStart);
    const found = /(^|[\s(,])@([A-Za-z0-9_.-]*)$/.exec(upto);
    return found ? { start: upto.length - found[2].length - 1, text: found[2] } : null;
  }

  function close() {
    list.hidden = true;
    list.replaceChildren();
    hits = [];
    active = -1;
    box.setAttribute("aria-expanded", "false");
  }

  function show() {
    list.replaceChildren();
    hits.forEach((hit, index) => {
      const item = element("li");
      item.setAttribute("role", "option");
      item.setAttribute("aria-selected", String(index === active));
      item.dataset.name = hit.name;
      item.append(
        element("span", hit.name, "name"),
        element("span", `${hit.service} · ${hit.kind} · ${hit.count.toLocaleString()}`, "where"),
      );
      item.addEventListener("mousedown", (event) => {
        event.preventDefault(); // keep the focus in the box
        accept(index);
      });
      list.append(item);
    });
    list.hidden = hits.length === 0;
    box.setAttribute("aria-expanded", String(!list.hidden));
  }

  async function update() {
    token = tokenAtCaret();
    if (!token || !token.text) {
      close();
      return;
    }
    if (pending) pending.abort();
    pending = new AbortController();
    try {
      const answer = await fetch(`/chat/names?q=${encodeURIComponent(token.text)}`, {
        signal: pending.signal,
      });
      hits = answer.ok ? await answer.json() : [];
    } catch (_) {
      return; // aborted by a later keystroke
    }
    active = hits.length ? 0 : -1;
    show();
  }

  function accept(index) {
    const hit = hits[index];
    if (!hit || !token) return;
    const caret = box.selectionStart;
    const before = box.value.slice(0, token.start);
    const after = box.value.slice(caret);
    const inserted = `@${hit.name} `;
    box.value = before + inserted + after.replace(/^\S*/, "").replace(/^ /, "");
    const at = before.length + inserted.length;
    box.setSelectionRange(at, at);
    close();
    box.focus();
  }

  box.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(update, 80);
  });
  box.addEventListener("blur", () => setTimeout(close, 120));
  box.addEventListener("keydown", (event) => {
    if (!list.hidden && hits.length) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        const step = event.key === "ArrowDown" ? 1 : -1;
        active = (active + step + hits.length) % hits.length;
        show();
        return;
      }
      if (event.key === "Enter" || event.key === "Tab") {
        event.preventDefault();
        accept(active);
        return;
      }
      if (event.key === "Escape") {
        close();
        return;
      }
    }
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  // --- asking --------------------------------------------------------------------------
  document.getElementById("new-conversation").addEventListener("click", () => {
    conversationId = null;
    conversation.replaceChildren();
    box.focus();
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const question = box.value.trim();
    if (!question || askButton.disabled) return;
    close();
    askButton.disabled = true;
    conversation.append(element("div", question, "turn-question"));
    const turn = element("div", null, "turn-answer");
    const text = element("p", "", "answer-text streaming");
    turn.append(text);
    conversation.append(turn);
    box.value = "";
    try {
      const done = await stream(question, text);
      conversationId = done.conversation_id;
      finish(turn, text, done);
    } catch (failure) {
      text.classList.remove("streaming");
      turn.append(element("p", `Could not answer: ${failure.message}`, "chat-error"));
    } finally {
      askButton.disabled = false;
      turn.scrollIntoView({ block: "nearest" });
      box.focus();
    }
  });

  async function stream(question, text) {
    const response = await fetch("/api/chat/stream", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream" },
      body: JSON.stringify({ question, conversation_id: conversationId }),
    });
    if (!response.ok) {
      let detail = `${response.status} ${response.statusText}`;
      try {
        const answer = await response.json();
        if (typeof answer.detail === "string") detail = answer.detail;
        else if (Array.isArray(answer.detail)) detail = answer.detail.map((e) => e.msg).join("; ");
      } catch (_) { /* not JSON */ }
      throw new Error(detail);
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    let done = null;
    for (;;) {
      const { value, done: ended } = await reader.read();
      if (value) buffer += decoder.decode(value, { stream: true });
      let split;
      while ((split = buffer.indexOf("\n\n")) >= 0) {
        const event = parseEvent(buffer.slice(0, split));
        buffer = buffer.slice(split + 2);
        if (event.name === "answer") text.textContent += JSON.parse(event.data);
        else if (event.name === "done") done = JSON.parse(event.data);
      }
      if (ended) break;
    }
    if (!done) throw new Error("the answer stopped before it was complete");
    return done;
  }

  function parseEvent(block) {
    const event = { name: "message", data: "" };
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event:")) event.name = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    }
    event.data = data.join("\n");
    return event;
  }

  // --- the finished answer -------------------------------------------------------------
  function finish(turn, text, done) {
    text.classList.remove("streaming");
    text.replaceChildren(...linked(done.answer));
    for (const mention of done.mentions) {
      if (!mention.suggestions || !mention.suggestions.length) continue;
      const buttons = element("div", null, "suggestion-buttons");
      for (const suggestion of mention.suggestions) {
        const button = element("button", `Ask about @${suggestion}`, "secondary");
        button.type = "button";
        button.addEventListener("click", () => {
          box.value = done.question.replace(mention.mention, `@${suggestion}`);
          box.focus();
        });
        buttons.append(button);
      }
      turn.append(buttons);
    }
    if (done.citations.length) turn.append(citations(done.citations));
    turn.append(element("p", done.mode === "model" ? "Written by the model from the facts below; what no fact holds is marked [unverified]." : "The facts, written out without a model.", "answer-meta"));
    if (done.mode === "model") turn.append(modelNotes(done));
  }

  // Under a model's answer: the tools it called, what it said that no fact holds, and the
  // facts it started from, written out, folded away until opened.
  function modelNotes(done) {
    const notes = element("details", null, "model-notes");
    notes.append(element("summary", `Facts used${done.tool_calls.length ? ` and ${done.tool_calls.length} lookup${done.tool_calls.length === 1 ? "" : "s"}` : ""}`));
    if (done.tool_calls.length) {
      const calls = done.tool_calls.map((call) => `${call.tool}(${JSON.stringify(call.arguments)})${call.ok ? "" : " failed"}`);
      notes.append(element("p", `Looked up: ${calls.join("; ")}`, "mono"));
    }
    if (done.unverified.length) notes.append(element("p", `Marked [unverified]: ${done.unverified.join(", ")}: in no fact the model was given.`));
    if (done.facts_text) {
      const text = element("pre", null, "facts-text");
      text.append(...linked(done.facts_text));
      notes.append(text);
    }
    return notes;
  }

  // The answer as text nodes, with @names and trace ids made links: the facts name only
  // patterns that exist, and a name that does not opens a page that suggests close ones.
  function linked(answer) {
    const parts = [];
    const found = /@([a-z][a-z0-9_]{2,79})|\b([0-9a-f]{32})\b/g;
    let last = 0;
    let match;
    while ((match = found.exec(answer)) !== null) {
      const [whole, name, traceId] = match;
      parts.push(document.createTextNode(answer.slice(last, match.index)));
      const link = element("a", whole, "mono");
      link.href = name ? Spanwise.patternUrl(name) : Spanwise.traceUrl(traceId);
      parts.push(link);
      last = match.index + whole.length;
    }
    parts.push(document.createTextNode(answer.slice(last)));
    return parts;
  }

  function citations(cited) {
    const block = element("div", null, "citations");
    for (const citation of cited) {
      const item = element("div", null, "citation");
      const title = element("div");
      const link = element("a", citation.pattern, "mono");
      link.href = Spanwise.patternUrl(citation.pattern);
      title.append(link, element("span", ` · ${citation.service}`, "muted"));
      item.append(title);
      if (citation.trace_ids.length) {
        const traces = element("div", null, "traces");
        traces.append(element("span", "Traces:", "muted"));
        for (const traceId of citation.trace_ids) {
          const trace = element("a", traceId.slice(0, 16) + "…", "mono");
          trace.href = Spanwise.traceUrl(traceId);
          trace.title = traceId;
          traces.append(trace);
        }
        item.append(traces);
      }
      item.append(element("pre", citation.traceql, "code"));
      if (citation.grafana_url) {
        const grafana = element("a", "Open in Grafana Explore");
        grafana.href = citation.grafana_url;
        grafana.target = "_blank";
        grafana.rel = "noopener noreferrer";
        item.append(grafana);
      }
      block.append(item);
    }
    return block;
  }

  // A question given in the address (?q=...), as the pattern page's "Ask" link gives it.
  if (box.value) {
    box.focus();
    box.setSelectionRange(box.value.length, box.value.length);
  }
});

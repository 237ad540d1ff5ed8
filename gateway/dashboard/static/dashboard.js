// The dashboard's script layer: signing in for this tab, the bearer token on every htmx
// request, errors said in words, and the live stream that refreshes the page's part.
(function () {
  "use strict";

  const SESSION = "productops.session";
  // Refresh at most this often while events stream in, so a burst costs one refresh.
  const REFRESH_EVERY_MS = 1000;
  const FIRST_REFRESH_MS = 150;
  const RETRY_MAX_MS = 15000;
  // A part a slow service left incomplete is fetched again after this.
  const PART_RETRY_MS = 5000;
  const ENDED = "Your session has ended; sign in again.";

  let live = null; // the AbortController of the running live stream
  let refreshTimer = null;
  let lastRefresh = 0;

  const $ = (selector) => document.querySelector(selector);
  // The tab's title follows what is shown: "Sign in" over the form, the page's own otherwise
  // (a product's page takes its name once its part, fetched with the token, brings it).
  let pageTitle = document.title;
  const SIGN_IN_TITLE = "Sign in · ProductOps";

  function session() {
    try {
      const saved = JSON.parse(sessionStorage.getItem(SESSION) || "null");
      if (saved && saved.expiresAt > Date.now()) return saved;
    } catch (error) {
      // An unreadable session is no session.
    }
    return null;
  }

  // Page-wide news (a success, the gateway not answering) goes in the bar at the top, which
  // stays in view while the page scrolls. An action's failure is said beside that action:
  // a long page would otherwise show it far above where the person is.
  function say(text, kind) {
    const box = $("#flash");
    $("#flash-text").textContent = text;
    box.className = "flash " + kind;
    box.hidden = false;
    clearTimeout(say.timer);
    if (kind !== "error") say.timer = setTimeout(() => { box.hidden = true; }, 6000);
  }

  function closeButton(onClose) {
    const close = document.createElement("button");
    close.type = "button";
    close.className = "close";
    close.setAttribute("aria-label", "Dismiss this message");
    close.addEventListener("click", onClose);
    return close;
  }

  function sayBeside(form, text) {
    let box = form.nextElementSibling;
    if (!box || !box.classList.contains("inline")) {
      box = document.createElement("div");
      box.className = "flash error inline";
      box.setAttribute("role", "alert");
      box.append(document.createElement("span"), closeButton(() => {
        // Back to the form the message was about (a refresh may have rendered it again), so
        // the keyboard's place is not lost with the message.
        const owner = box.previousElementSibling;
        box.remove();
        const first = owner && owner.querySelector("input:not([type=hidden]), button");
        if (first) first.focus();
      }));
      form.after(box);
    }
    box.firstElementChild.textContent = text;
    box.scrollIntoView({ block: "nearest" });
  }

  function problemText(status, body, retryAfter) {
    let detail = "";
    try {
      const problem = JSON.parse(body);
      detail = problem.detail || problem.title || "";
    } catch (error) {
      // Not problem+json: fall back to the status.
    }
    if (status === 429) {
      return "Too many requests" + (retryAfter ? "; try again in " + retryAfter + " s." : ".");
    }
    if (status === 0) return "The gateway is not answering; check that it is running.";
    return detail || "The request failed with status " + status + ".";
  }

  function showSignIn(message) {
    stopLive();
    sessionStorage.removeItem(SESSION);
    document.body.classList.remove("signed-in");
    // What the key could read goes with it, not merely hidden: the next person at this
    // browser must not find it in the page.
    const region = document.getElementById("part");
    if (region) region.replaceChildren();
    $("#main").hidden = true;
    $("#sign-in").hidden = false;
    document.title = SIGN_IN_TITLE;
    $("#who").textContent = "";
    const note = $("#sign-in-message");
    note.textContent = message || "";
    note.hidden = !message;
    $("#api-key").focus();
  }

  function showPage(saved) {
    $("#sign-in").hidden = true;
    $("#main").hidden = false;
    document.title = pageTitle;
    document.body.classList.add("signed-in");
    $("#who").textContent = saved.scope ? "scopes: " + saved.scope : "";
    htmx.trigger(document.body, "po-ready");
    startLive();
  }

  async function signIn(event) {
    event.preventDefault();
    const field = $("#api-key");
    const key = field.value.trim();
    if (!key) return showSignIn("Enter an API key.");
    let response;
    try {
      response = await fetch("/v1/auth/token", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ api_key: key }),
      });
    } catch (error) {
      return showSignIn(problemText(0, ""));
    }
    const body = await response.text();
    if (!response.ok) {
      const words = response.status === 401
        ? "That API key is not valid, or it was revoked."
        : problemText(response.status, body, response.headers.get("Retry-After"));
      return showSignIn(words);
    }
    const token = JSON.parse(body);
    const saved = {
      token: token.access_token,
      scope: token.scope,
      expiresAt: Date.now() + token.expires_in * 1000,
    };
    sessionStorage.setItem(SESSION, JSON.stringify(saved));
    field.value = "";
    showPage(saved);
  }

  function refreshSoon() {
    if (refreshTimer !== null) return;
    const wait = Math.max(FIRST_REFRESH_MS, lastRefresh + REFRESH_EVERY_MS - Date.now());
    refreshTimer = setTimeout(() => {
      refreshTimer = null;
      lastRefresh = Date.now();
      htmx.trigger(document.body, "po-refresh");
    }, wait);
  }

  function setLive(state, text) {
    const badge = $("#live");
    badge.className = "live " + state;
    badge.textContent = text;
  }

  function stopLive() {
    if (live) live.abort();
    live = null;
    setLive("off", "live: off");
  }

  // Server-Sent Events read with fetch, not EventSource: the stream needs the bearer token.
  function frameOf(text) {
    const frame = { id: null, event: null };
    for (const line of text.split("\n")) {
      if (line.startsWith("id:")) frame.id = line.slice(3).trim();
      else if (line.startsWith("event:")) frame.event = line.slice(6).trim();
    }
    return frame;
  }

  async function readStream(response, control, onFrame) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    while (live === control) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        onFrame(frameOf(buffer.slice(0, cut)));
        buffer = buffer.slice(cut + 2);
      }
    }
  }

  async function startLive() {
    stopLive();
    const control = new AbortController();
    live = control;
    let lastId = null;
    let retry = 1000;
    while (live === control) {
      const saved = session();
      if (!saved) return showSignIn(ENDED);
      setLive("connecting", "live: connecting");
      try {
        const headers = { Authorization: "Bearer " + saved.token, Accept: "text/event-stream" };
        if (lastId) headers["Last-Event-ID"] = lastId;
        const response = await fetch("/v1/live", { headers, signal: control.signal });
        if (response.status === 401) return showSignIn(ENDED);
        if (!response.ok) {
          const text = await response.text();
          setLive("off", "live: off (" + problemText(response.status, text) + ")");
          if (response.status === 403) return;
        } else {
          setLive("on", "live: on");
          retry = 1000;
          await readStream(response, control, (frame) => {
            if (frame.id) lastId = frame.id;
            if (frame.event) refreshSoon();
          });
        }
      } catch (error) {
        if (control.signal.aborted) return;
      }
      if (live !== control) return;
      setLive("off", "live: reconnecting");
      await new Promise((resolve) => setTimeout(resolve, retry));
      retry = Math.min(retry * 2, RETRY_MAX_MS);
    }
  }

  // Forms post JSON to the public API; a date field means the end of that day (UTC), empty
  // fields are left out.
  htmx.defineExtension("po-json", {
    onEvent(name, event) {
      if (name === "htmx:configRequest") event.detail.headers["Content-Type"] = "application/json";
    },
    encodeParameters(xhr, parameters, element) {
      xhr.overrideMimeType("text/json");
      const body = {};
      parameters.forEach((value, name) => {
        if (value === "") return;
        const field = element.querySelector('[name="' + CSS.escape(name) + '"]');
        body[name] = field && field.type === "date" ? value + "T23:59:59Z" : value;
      });
      return JSON.stringify(body);
    },
  });

  document.addEventListener("htmx:configRequest", (event) => {
    const saved = session();
    if (!saved) {
      event.preventDefault();
      showSignIn(ENDED);
      return;
    }
    event.detail.headers.Authorization = "Bearer " + saved.token;
  });

  // --- Live refreshes that keep what the person is doing ------------------------------------
  // Replacing the part while someone types in it would empty the field and drop focus on the
  // body. So a refresh waits while a form field in the part has focus or holds unsubmitted
  // input, and runs once they submit, clear the field or leave the form. A refresh the
  // person asked for (their own action succeeded) runs at once and carries the rest over.
  const WAITING = "Updates waiting: they show once you submit, clear or leave the form.";
  let refreshWaiting = false;
  let forced = null; // the form whose success asked for this refresh, until the part swaps

  const part = () => document.getElementById("part");
  const FIELDS = "input:not([type=hidden]), textarea, select";

  function edited(field) {
    if (field.type === "checkbox" || field.type === "radio") {
      return field.checked !== field.defaultChecked;
    }
    if (field.tagName === "SELECT") return [...field.options].some((o) => o.selected !== o.defaultSelected);
    return field.value !== field.defaultValue;
  }

  function busy() {
    const region = part();
    if (!region) return false;
    const focused = document.activeElement;
    if (focused && region.contains(focused) && focused.closest("form")) return true;
    return [...region.querySelectorAll(FIELDS)].some(edited);
  }

  function setWaiting(waiting) {
    refreshWaiting = waiting;
    const note = $("#waiting");
    if (note) note.textContent = waiting ? WAITING : "";
  }

  function refreshIfIdle() {
    if (!refreshWaiting || busy()) return;
    setWaiting(false);
    htmx.trigger(document.body, "po-refresh");
  }

  // What identifies a field, button or link across two renderings of the part: the action
  // its form posts to (one per row and gate) and its name, or a link's target.
  function keyOf(element) {
    const form = element.closest("form");
    const action = form ? form.getAttribute("hx-post") || "" : "";
    const name = element.name || element.getAttribute("href") || element.textContent.trim();
    return action + "|" + element.tagName + "|" + name;
  }

  function find(region, key) {
    return [...region.querySelectorAll("input, textarea, select, button, a[href]")].find(
      (element) => keyOf(element) === key,
    );
  }

  // Taken just before a swap, put back just after: unsubmitted input (not of the form that
  // was just sent), the focus and caret, and action errors the person has not dismissed.
  function keep(region, sent) {
    const state = { values: [], focus: null, alerts: [] };
    for (const field of region.querySelectorAll(FIELDS)) {
      if (edited(field) && !(sent && sent.contains(field))) {
        state.values.push([keyOf(field), field.value]);
      }
    }
    const focused = document.activeElement;
    if (focused && focused !== region && region.contains(focused)) {
      state.focus = { key: keyOf(focused), start: focused.selectionStart, end: focused.selectionEnd };
    }
    for (const alert of region.querySelectorAll(".flash.inline")) {
      const form = alert.previousElementSibling;
      if (form && form !== sent) state.alerts.push([form.getAttribute("hx-post"), alert]);
    }
    return state;
  }

  function putBack(region, state) {
    for (const [key, value] of state.values) {
      const field = find(region, key);
      if (field) field.value = value;
    }
    for (const [action, alert] of state.alerts) {
      const form = [...region.querySelectorAll("form")].find((f) => f.getAttribute("hx-post") === action);
      if (form) form.after(alert);
    }
    if (!state.focus) return;
    const again = find(region, state.focus.key);
    if (!again) {
      // What had focus is gone (the row just decided): keep the keyboard in the content.
      $("#main").focus({ preventScroll: true });
      return;
    }
    again.focus({ preventScroll: true });
    if (typeof state.focus.start === "number" && typeof again.setSelectionRange === "function") {
      try {
        again.setSelectionRange(state.focus.start, state.focus.end);
      } catch (error) {
        // Not a text field (a date, say): the focus is enough.
      }
    }
  }

  let kept = null;
  document.addEventListener("htmx:beforeRequest", (event) => {
    if (event.detail.elt !== part() || forced !== null || !busy()) return;
    event.preventDefault();
    setWaiting(true);
  });

  document.addEventListener("htmx:beforeSwap", (event) => {
    const target = event.detail.target;
    if (target === part() && event.detail.shouldSwap) {
      if (forced === null && busy()) {
        // The answer came while the person started typing: it waits like the request would.
        event.detail.shouldSwap = false;
        setWaiting(true);
        return;
      }
      kept = keep(target, forced);
    }
    target.removeAttribute("aria-busy");
  });

  function nameThePage(region) {
    const named = region.querySelector("[data-page-title]");
    if (!named || !named.dataset.pageTitle) return;
    $("#main h1").textContent = named.dataset.pageTitle;
    pageTitle = named.dataset.pageTitle + " · ProductOps";
    document.title = pageTitle;
  }

  document.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target !== part()) return;
    nameThePage(event.detail.target);
    if (kept === null) return;
    putBack(event.detail.target, kept);
    kept = null;
    setWaiting(false);
  });

  document.addEventListener("htmx:afterRequest", (event) => {
    if (event.detail.elt === part()) forced = null;
  });

  // Leaving the form, or clearing what was typed, lets a waiting refresh run.
  document.addEventListener("focusout", (event) => {
    const region = part();
    if (region && region.contains(event.target)) setTimeout(refreshIfIdle, 0);
  });
  document.addEventListener("input", (event) => {
    const region = part();
    if (region && region.contains(event.target)) refreshIfIdle();
  });

  let partRetry = null;
  document.addEventListener("htmx:afterSwap", (event) => {
    if (partRetry !== null || !event.detail.target.querySelector(".notice.retry")) return;
    partRetry = setTimeout(() => {
      partRetry = null;
      htmx.trigger(document.body, "po-refresh");
    }, PART_RETRY_MS);
  });

  document.addEventListener("htmx:sendError", () => say(problemText(0, ""), "error"));

  document.addEventListener("htmx:afterRequest", (event) => {
    const xhr = event.detail.xhr;
    if (!xhr || xhr.status === 0) return; // not sent: htmx:sendError said so
    if (xhr.status === 401) return showSignIn(ENDED);
    const elt = event.detail.elt;
    if (xhr.status >= 400) {
      const text = problemText(xhr.status, xhr.responseText, xhr.getResponseHeader("Retry-After"));
      if (elt.tagName === "FORM" && elt.isConnected) sayBeside(elt, text);
      else say(text, "error");
      return;
    }
    const done = elt.dataset && elt.dataset.done;
    if (done) {
      say(done, "ok");
      const old = elt.nextElementSibling;
      if (old && old.classList.contains("inline")) old.remove();
      // The person's own action: show its outcome now, whatever else they are typing.
      forced = elt;
      htmx.trigger(document.body, "po-refresh");
    }
  });

  document.addEventListener("DOMContentLoaded", () => {
    $("#sign-in-form").addEventListener("submit", signIn);
    $("#sign-out").addEventListener("click", () => showSignIn("Signed out."));
    $("#flash").append(closeButton(() => { $("#flash").hidden = true; }));
    const saved = session();
    if (saved) showPage(saved);
    else showSignIn(sessionStorage.getItem(SESSION) ? ENDED : "");
  });
})();

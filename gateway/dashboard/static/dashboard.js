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

  function session() {
    try {
      const saved = JSON.parse(sessionStorage.getItem(SESSION) || "null");
      if (saved && saved.expiresAt > Date.now()) return saved;
    } catch (error) {
      // An unreadable session is no session.
    }
    return null;
  }

  function say(text, kind) {
    const box = $("#flash");
    box.textContent = text;
    box.className = "flash " + kind;
    box.hidden = false;
    clearTimeout(say.timer);
    if (kind !== "error") say.timer = setTimeout(() => { box.hidden = true; }, 6000);
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
    $("#main").hidden = true;
    $("#sign-in").hidden = false;
    $("#who").textContent = "";
    const note = $("#sign-in-message");
    note.textContent = message || "";
    note.hidden = !message;
    $("#api-key").focus();
  }

  function showPage(saved) {
    $("#sign-in").hidden = true;
    $("#main").hidden = false;
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

  document.addEventListener("htmx:beforeSwap", (event) => {
    event.detail.target.removeAttribute("aria-busy");
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
    if (xhr.status >= 400) {
      say(problemText(xhr.status, xhr.responseText, xhr.getResponseHeader("Retry-After")), "error");
      return;
    }
    const done = event.detail.elt.dataset && event.detail.elt.dataset.done;
    if (done) {
      say(done, "ok");
      htmx.trigger(document.body, "po-refresh");
    }
  });

  document.addEventListener("DOMContentLoaded", () => {
    $("#sign-in-form").addEventListener("submit", signIn);
    $("#sign-out").addEventListener("click", () => showSignIn("Signed out."));
    const saved = session();
    if (saved) showPage(saved);
    else showSignIn(sessionStorage.getItem(SESSION) ? ENDED : "");
  });
})();

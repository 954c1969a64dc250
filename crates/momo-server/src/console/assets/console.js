// The console's one script: progressive enhancement only, every page works without it.
// - Times are rendered by the server in UTC; show them in the browser's time zone, with the
//   UTC value kept in the title (shown on hover).
// - A "Copy" button next to each value shown once (keys, secrets).
// - Live updates: a page's #live region names an event stream; on each "change" hint the page
//   is loaded again in the background and the region swapped in (docs/console.md). A region
//   with the keyboard focus in it (a PIN being typed) is swapped once the focus leaves it.
"use strict";

function localTimes(root) {
  root.querySelectorAll("time[datetime]").forEach((element) => {
    const when = new Date(element.getAttribute("datetime"));
    if (Number.isNaN(when.getTime())) return;
    element.title = element.getAttribute("datetime");
    element.textContent = when.toLocaleString(undefined, {
      year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
    });
    element.dataset.local = "true";
  });
}

function copyButtons(root) {
  root.querySelectorAll("input.secret").forEach((input) => {
    if (!navigator.clipboard) return;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "copy";
    button.textContent = "Copy";
    button.setAttribute("aria-label", "Copy " + (input.labels[0] ? input.labels[0].textContent : "the value"));
    button.addEventListener("click", () => {
      navigator.clipboard.writeText(input.value).then(
        () => { button.textContent = "Copied"; },
        () => { input.select(); button.textContent = "Press Ctrl+C"; },
      );
    });
    input.insertAdjacentElement("afterend", button);
  });
}

function enhance(root) {
  localTimes(root);
  copyButtons(root);
}

function follow(region) {
  const status = document.createElement("p");
  status.className = "live-status";
  status.setAttribute("role", "status");
  status.textContent = "Connecting for live updates…";
  region.insertAdjacentElement("beforebegin", status);

  let loading = false;
  let again = false;
  let waiting = null; // a fresh region held back while the focus is in the current one

  function swap(fresh) {
    const current = document.getElementById("live");
    if (!current) return;
    if (current.contains(document.activeElement) && document.activeElement !== current) {
      waiting = fresh;
      return;
    }
    waiting = null;
    current.replaceWith(fresh);
    enhance(fresh);
    document.body.dataset.liveUpdates = String(Number(document.body.dataset.liveUpdates || "0") + 1);
  }

  document.addEventListener("focusout", () => {
    // After the focus moved: swap a held-back region once the focus is outside it.
    setTimeout(() => { if (waiting) swap(waiting); }, 0);
  });

  let source = null;

  function stop(why) {
    if (source) source.close();
    source = null;
    status.textContent = why;
  }

  async function reload() {
    if (loading) { again = true; return; }
    loading = true;
    try {
      const response = await fetch(window.location.href, {
        headers: { Accept: "text/html" }, credentials: "same-origin", cache: "no-store",
      });
      if (response.redirected) {
        stop("Live updates stopped: you are signed out. Reload the page.");
      } else if (response.ok) {
        const page = new DOMParser().parseFromString(await response.text(), "text/html");
        const fresh = page.getElementById("live");
        if (fresh) swap(document.adoptNode(fresh));
      } else {
        status.textContent = "Could not load the changes (the server answered " + response.status + "); trying again at the next one.";
      }
    } catch (error) {
      status.textContent = "Could not load the changes; trying again at the next one.";
    } finally {
      loading = false;
      if (again) { again = false; reload(); }
    }
  }

  // A hidden tab lets go of its stream (browsers allow only a few connections per server), and
  // catches up when shown again.
  function connect() {
    source = new EventSource(region.dataset.events);
    source.addEventListener("open", () => { status.textContent = "Live: this page updates by itself."; });
    source.addEventListener("error", () => {
      status.textContent = source && source.readyState === EventSource.CLOSED
        ? "Live updates stopped: reload the page."
        : "Live updates interrupted; reconnecting…";
    });
    source.addEventListener("change", reload);
  }

  document.addEventListener("visibilitychange", () => {
    if (document.hidden && source) {
      stop("Live updates paused while this tab is hidden.");
    } else if (!document.hidden && !source && status.textContent.startsWith("Live updates paused")) {
      connect();
      reload();
    }
  });
  connect();
}

enhance(document);
const region = document.getElementById("live");
if (region && region.dataset.events && window.EventSource) follow(region);

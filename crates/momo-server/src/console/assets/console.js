// The console's one script: progressive enhancement only, every page works without it.
// - Times are rendered by the server in UTC; show them in the browser's time zone, with the
//   UTC value kept in the title (shown on hover).
// - A "Copy" button next to each value shown once (keys, secrets).
"use strict";

document.querySelectorAll("time[datetime]").forEach((element) => {
  const when = new Date(element.getAttribute("datetime"));
  if (Number.isNaN(when.getTime())) return;
  element.title = element.getAttribute("datetime");
  element.textContent = when.toLocaleString(undefined, {
    year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
  });
  element.dataset.local = "true";
});

document.querySelectorAll("input.secret").forEach((input) => {
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

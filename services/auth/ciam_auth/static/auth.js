// Auth's pages work without this file; it only improves them.
// Times: the server writes UTC (<time datetime="...Z" data-local>2026-12-03 14:05 UTC</time>);
// here they become the browser's local time, in the page's language.
(function () {
  "use strict";
  function localTimes() {
    var lang = document.documentElement.lang || undefined;
    var format;
    try {
      format = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" });
    } catch (e) {
      return;
    }
    document.querySelectorAll("time[data-local]").forEach(function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (isNaN(when.getTime())) return;
      el.textContent = el.hasAttribute("data-time-only")
        ? when.toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" })
        : format.format(when);
      el.title = el.getAttribute("datetime");
      el.setAttribute("data-localised", "");
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", localTimes);
  } else {
    localTimes();
  }
})();

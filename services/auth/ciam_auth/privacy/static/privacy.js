// The privacy page without reloads: a consent form is posted with fetch, the page's main
// content is replaced by the answer (the same HTML the 303 leads to), and the change's live
// confirmation (server-sent events from /privacy/propagation/live) is written into it.
// Without this script everything works the same with full page loads.
"use strict";
(function () {
  function follow(root) {
    var live = root.querySelector("[data-live]");
    if (!live || !window.EventSource) return;
    var source = new EventSource(live.getAttribute("data-live"));
    source.onmessage = function (event) {
      var state = JSON.parse(event.data);
      live.textContent = state.text;
      if (state.done) source.close();
    };
    source.onerror = function () { source.close(); };
  }
  function enhance(root) {
    root.querySelectorAll("form[data-enhance]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var body = new URLSearchParams(new FormData(form));
        var by = event.submitter;  // a form with two buttons says which one in its value
        if (by && by.name) body.append(by.name, by.value);
        // getAttribute: the forms have an input named "action", which hides `form.action`.
        fetch(form.getAttribute("action"), { method: "POST", body: body, credentials: "same-origin" })
          .then(function (response) {
            return response.text().then(function (html) { return [response.url, html]; });
          })
          .then(function (answer) {
            var next = new DOMParser().parseFromString(answer[1], "text/html");
            var main = document.querySelector("main");
            var fresh = next.querySelector("main");
            if (!main || !fresh) { window.location.assign(answer[0]); return; }
            main.replaceWith(fresh);
            history.replaceState(null, "", answer[0]);
            enhance(fresh);
            follow(fresh);
            var focus = fresh.querySelector("[role=status], [role=alert]");
            if (focus) { focus.setAttribute("tabindex", "-1"); focus.focus(); }
          })
          .catch(function () { form.submit(); });
      });
    });
  }
  enhance(document);
  follow(document);
})();

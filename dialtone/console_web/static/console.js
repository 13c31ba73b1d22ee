// The console's small scripts: charts coloured by meaning, focus after in-place
// updates, live polling that never steals focus, and the browser's own time zone.
// Loaded from this server only; no inline script (the Content-Security-Policy).
"use strict";
(function () {
  // Colours follow what an outcome means, not where it sits in a list: green went
  // well, amber needs a look, red failed, grey is neutral.
  var GOOD = "#1a7f37", WATCH = "#9a6700", BAD = "#b42318", NEUTRAL = "#57606a", INFO = "#0a58ca";
  var meaning = {
    completed: GOOD, answered: GOOD, success: GOOD, transferred: GOOD, delivered: GOOD,
    voicemail: INFO, no_answer: WATCH, busy: WATCH, declined: WATCH, abandoned: WATCH,
    caller_hung_up: WATCH, cancelled: NEUTRAL, dnc: NEUTRAL, skipped: NEUTRAL,
    failed: BAD, error: BAD, dropped: BAD, unknown: NEUTRAL
  };
  function colour(key) {
    if (meaning[key]) return meaning[key];
    if (/fail|error|drop/.test(key)) return BAD;
    if (/busy|no_answer|timeout|declin|hung/.test(key)) return WATCH;
    return NEUTRAL;
  }

  function read(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function bars(id, counts, label) {
    var canvas = document.getElementById(id);
    if (!canvas || !window.Chart) return;
    var keys = Object.keys(counts);
    new window.Chart(canvas, {
      type: "bar",
      data: { labels: keys.map(function (k) { return k.replace(/_/g, " "); }), datasets: [{ label: label, data: keys.map(function (k) { return counts[k]; }), backgroundColor: keys.map(colour) }] },
      options: { animation: false, maintainAspectRatio: false, plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
    });
  }

  function charts() {
    var overview = read("overview-data");
    if (overview) {
      var canvas = document.getElementById("chart-daily");
      if (canvas && window.Chart) {
        var outcomes = Object.keys(overview.daily);
        new window.Chart(canvas, {
          type: "bar",
          data: {
            labels: overview.days,
            datasets: outcomes.map(function (o) { return { label: o.replace(/_/g, " "), data: overview.daily[o], backgroundColor: colour(o) }; })
          },
          options: { animation: false, maintainAspectRatio: false, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } }
        });
      }
      bars("chart-today", overview.today, "calls");
      bars("chart-week", overview.week, "calls");
      bars("chart-transfers", overview.transfers, "transfers");
    }
    var campaign = read("campaign-data");
    if (campaign) bars("chart-campaign", campaign.outcomes, "calls");
  }

  // After an in-place update, the element the server marked takes the focus.
  document.addEventListener("htmx:afterSettle", function () {
    var target = document.querySelector("[data-focus]");
    if (target) { target.removeAttribute("data-focus"); target.focus(); }
  });
  // A poll waits while the page is hidden or someone is working inside the part it
  // would replace: a refresh must never move the keyboard focus.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var source = event.detail && event.detail.elt;
    if (!source || !source.hasAttribute("data-poll")) return;
    if (document.visibilityState !== "visible" || source.contains(document.activeElement)) {
      event.preventDefault();
    }
  });

  // Times are shown in the clinic's zone; say so when this browser is elsewhere.
  var note = document.getElementById("zone-note");
  if (note && window.Intl) {
    var mine = Intl.DateTimeFormat().resolvedOptions().timeZone;
    var theirs = note.getAttribute("data-zone");
    if (mine && theirs && mine !== theirs) {
      note.textContent = "Times are in " + theirs.replace(/_/g, " ") + " (the clinic's time zone); your browser is set to " + mine.replace(/_/g, " ") + ".";
      note.hidden = false;
    }
  }

  // A page that opens on a result (upload errors, a confirmation) puts the focus
  // there, so it is what a screen reader reads and what a phone scrolls to.
  var first = document.querySelector("[data-focus-on-load]");
  if (first) { first.focus(); if (first.scrollIntoView) first.scrollIntoView({ block: "start" }); }

  charts();
})();

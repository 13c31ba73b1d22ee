// Charts for the overview and campaign pages. The data comes from a JSON script element
// that the server rendered (no inline script: the Content-Security-Policy forbids it).
"use strict";
(function () {
  var palette = ["#0a58ca", "#1a7f37", "#b42318", "#9a6700", "#8250df", "#bf3989", "#0969da", "#57606a", "#116329", "#953800", "#4a5360"];

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
      data: { labels: keys, datasets: [{ label: label, data: keys.map(function (k) { return counts[k]; }), backgroundColor: palette }] },
      options: { animation: false, plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
    });
  }

  var overview = read("overview-data");
  if (overview) {
    var canvas = document.getElementById("chart-daily");
    if (canvas && window.Chart) {
      var outcomes = Object.keys(overview.daily);
      new window.Chart(canvas, {
        type: "bar",
        data: {
          labels: overview.days,
          datasets: outcomes.map(function (o, i) { return { label: o, data: overview.daily[o], backgroundColor: palette[i % palette.length] }; })
        },
        options: { animation: false, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } }
      });
    }
    bars("chart-today", overview.today, "calls");
    bars("chart-week", overview.week, "calls");
    bars("chart-transfers", overview.transfers, "transfers");
  }
  var campaign = read("campaign-data");
  if (campaign) bars("chart-campaign", campaign.outcomes, "calls");
})();

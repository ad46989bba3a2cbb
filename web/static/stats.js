// 邻里通 /stats: draws the figures with Chart.js from the page's JSON block.
// No inline script: the data travels in <script type="application/json" id="stats-data">,
// which the browser never runs, and this file reads it. Each canvas gets
// data-drawn="1" once Chart.js has rendered it.
(function () {
  "use strict";

  var block = document.getElementById("stats-data");
  if (!block || typeof Chart === "undefined") {
    return; // the page's tables still say every number
  }
  var payload = JSON.parse(block.textContent);
  var stats = payload.stats;
  var text = payload.labels;

  var COLORS = {
    open: "#d97706", claimed: "#2563eb", reopened: "#b42318", resolved: "#65a30d",
    closed: "#1a7f5a", rejected: "#9ca3af", merged: "#c4b5fd"
  };
  var MEDIAN = "#1a7f5a";
  var P90 = "#d97706";
  var TARGET = "#b42318";

  Chart.defaults.font.family = 'system-ui, "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif';
  Chart.defaults.color = "#1f2933";
  Chart.defaults.animation = false; // draw at once: readers and screenshots see the final chart

  var markDrawn = {
    id: "markDrawn",
    afterRender: function (chart) {
      chart.canvas.setAttribute("data-drawn", "1");
    }
  };

  function draw(id, config) {
    var canvas = document.getElementById(id);
    if (!canvas) {
      return;
    }
    config.options = Object.assign({ responsive: true, maintainAspectRatio: false }, config.options || {});
    config.plugins = [markDrawn];
    new Chart(canvas, config);
  }

  function pick(rows, path) {
    return rows.map(function (row) {
      return path.reduce(function (value, key) { return value == null ? null : value[key]; }, row);
    });
  }

  function percent(values) {
    return values.map(function (v) { return v == null ? null : Math.round(v * 1000) / 10; });
  }

  function line(label, data, color, dashed) {
    return {
      label: label, data: data, borderColor: color, backgroundColor: color,
      borderDash: dashed ? [6, 4] : [], pointRadius: dashed ? 0 : 3, spanGaps: true, tension: 0.2
    };
  }

  function flat(value, n) {
    var out = [];
    for (var i = 0; i < n; i += 1) { out.push(value); }
    return out;
  }

  var percentAxis = { y: { min: 0, max: 100, ticks: { callback: function (v) { return v + "%"; } } } };

  // tickets by category and state: stacked bars
  var categories = stats.category_states.map(function (row) {
    return text.categories[row.category] || row.category;
  });
  var present = text.state_order.filter(function (state) {
    return stats.category_states.some(function (row) { return row.states[state]; });
  });
  draw("chart-category-state", {
    type: "bar",
    data: {
      labels: categories,
      datasets: present.map(function (state) {
        return {
          label: text.states[state] || state, backgroundColor: COLORS[state] || "#66727f",
          data: stats.category_states.map(function (row) { return row.states[state] || 0; })
        };
      })
    },
    options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true,
      title: { display: true, text: text.tickets } } } }
  });

  var months = stats.months.map(function (row) { return row.month; });
  [["chart-response", "first_response_minutes", text.minutes],
   ["chart-resolve", "resolve_hours", text.hours]].forEach(function (spec) {
    draw(spec[0], {
      type: "line",
      data: {
        labels: months,
        datasets: [line(text.median, pick(stats.months, [spec[1], "median"]), MEDIAN),
                   line(text.p90, pick(stats.months, [spec[1], "p90"]), P90)]
      },
      options: { scales: { y: { beginAtZero: true, title: { display: true, text: spec[2] } } } }
    });
  });

  // a monthly share against the report's target line (70% at grid level, 90% satisfied)
  [["chart-grid-share", "grid_resolved_share", text.grid_share, text.grid_target],
   ["chart-satisfaction", "satisfaction_rate", text.satisfaction, text.satisfaction_target]
  ].forEach(function (spec) {
    draw(spec[0], {
      type: "line",
      data: {
        labels: months,
        datasets: [line(spec[2], percent(pick(stats.months, [spec[1]])), MEDIAN),
                   line(spec[3], flat(stats.targets[spec[1]] * 100, months.length), TARGET, true)]
      },
      options: { scales: percentAxis }
    });
  });

  draw("chart-reopen", {
    type: "bar",
    data: {
      labels: months,
      datasets: [{ label: text.reopen, backgroundColor: COLORS.reopened,
                   data: percent(pick(stats.months, ["reopen_rate"])) }]
    },
    options: { scales: { y: { beginAtZero: true, ticks: { callback: function (v) { return v + "%"; } } } } }
  });

  // the share of each month's tickets that staff corrected (改类, 不是报修)
  draw("chart-corrected", {
    type: "bar",
    data: {
      labels: stats.corrections.map(function (row) { return row.month; }),
      datasets: [{ label: text.corrected, backgroundColor: P90,
                   data: percent(pick(stats.corrections, ["share"])) }]
    },
    options: { scales: { y: { beginAtZero: true, ticks: { callback: function (v) { return v + "%"; } } } } }
  });

  var votes = stats.votes.map(function (row) { return "#" + row.vote; });
  draw("chart-turnout", {
    type: "bar",
    data: {
      labels: votes,
      datasets: [
        { label: text.area_turnout, backgroundColor: MEDIAN, data: percent(pick(stats.votes, ["area_turnout"])) },
        { label: text.head_turnout, backgroundColor: P90, data: percent(pick(stats.votes, ["head_turnout"])) },
        Object.assign(line(text.quorum, flat(Math.round(stats.targets.quorum * 1000) / 10, votes.length), TARGET, true),
                      { type: "line" })
      ]
    },
    options: {
      scales: percentAxis,
      plugins: { tooltip: { callbacks: { title: function (items) {
        var row = stats.votes[items[0].dataIndex];
        return "#" + row.vote + " " + row.title;
      } } } }
    }
  });
}());

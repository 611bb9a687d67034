// Draws every <canvas data-chart="ID"> from the JSON that the page put in <script id="ID"> (json_script).
(function () {
  "use strict";
  const PALETTE = ["#0d6efd", "#198754", "#fd7e14", "#6f42c1"];

  function draw(canvas) {
    const source = document.getElementById(canvas.dataset.chart);
    if (!source || typeof Chart === "undefined") return;
    const data = JSON.parse(source.textContent);
    const money = canvas.dataset.unit === "usd";
    const datasets = data.datasets.map(function (set, index) {
      const color = PALETTE[index % PALETTE.length];
      return {
        label: set.label,
        data: set.data,
        type: set.kind === "line" ? "line" : "bar",
        backgroundColor: set.kind === "line" ? color : color + "cc",
        borderColor: color,
        borderWidth: set.kind === "line" ? 2 : 0,
        borderRadius: 3,
        pointRadius: 2,
        cubicInterpolationMode: "monotone",
        order: set.kind === "line" ? 0 : 1,
      };
    });
    new Chart(canvas, {
      type: "bar",
      data: { labels: data.labels, datasets: datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        plugins: {
          legend: {
            position: "bottom",
            labels: { boxWidth: 12, sort: function (a, b) { return a.datasetIndex - b.datasetIndex; } },
          },
          tooltip: {
            callbacks: money ? { label: function (ctx) { return ctx.dataset.label + ": $" + ctx.parsed.y.toFixed(2); } } : {},
          },
        },
        scales: {
          x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 10 } },
          y: {
            beginAtZero: true,
            title: money ? { display: true, text: "USD" } : { display: false },
            ticks: money
              ? { callback: function (value) { return "$" + Number(value).toFixed(2); } }
              : { precision: 0 },
          },
        },
      },
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("canvas[data-chart]").forEach(draw);
  });
})();

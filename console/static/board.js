// The supervision board's trend chart: warnings raised per day by colour, from the data the page carries.
document.addEventListener("DOMContentLoaded", function () {
  var canvas = document.getElementById("trend-chart");
  if (!canvas || typeof Chart === "undefined") { return; }
  var data = JSON.parse(canvas.getAttribute("data-trend"));
  var colours = { blue: "#2563eb", yellow: "#d97706", red: "#dc2626" };
  var labels = { blue: "蓝色预警", yellow: "黄色预警", red: "红色预警" };
  new Chart(canvas, {
    type: "line",
    data: {
      labels: data.days,
      datasets: ["blue", "yellow", "red"].map(function (c) {
        return { label: labels[c], data: data.counts[c], borderColor: colours[c], backgroundColor: colours[c], tension: 0.2 };
      })
    },
    options: { animation: false, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
  });
  canvas.setAttribute("data-drawn", "yes");
});

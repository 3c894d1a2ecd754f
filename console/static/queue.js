// The queue's ages ("已过") tick in the page, so that an unchanged queue need not be fetched again to show them:
// each row carries the moment it was reported and the rows carry the server's clock when they were rendered.
(function () {
  "use strict";

  function label(seconds) {
    if (seconds < 60) return "不到1分钟";
    if (seconds < 3600) return Math.floor(seconds / 60) + "分钟";
    if (seconds < 86400) return Math.floor(seconds / 3600) + "小时";
    return Math.floor(seconds / 86400) + "天";
  }

  function tick() {
    const rows = document.getElementById("queue-rows");
    if (!rows || !rows.dataset.now) return;
    if (rows.dataset.now !== rows.dataset.seenNow) {  // fresh rows: the server's clock against this one's
      rows.dataset.seenNow = rows.dataset.now;
      rows.dataset.skew = String(Number(rows.dataset.now) - Date.now() / 1000);
    }
    const now = Date.now() / 1000 + Number(rows.dataset.skew);
    rows.querySelectorAll("td.age[data-at]").forEach(function (cell) {
      cell.textContent = label(Math.max(0, Math.floor(now - Number(cell.dataset.at))));
    });
  }

  setInterval(tick, 5000);
  document.addEventListener("DOMContentLoaded", tick);
})();

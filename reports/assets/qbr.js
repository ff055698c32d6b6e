/* secmetrics QBR dashboard: draws every chart of the page from its options,
   a JSON data block beside it (<script type="application/json">, never
   run), and keeps the charts sized to their boxes. The page has no inline
   script, so a Content-Security-Policy of script-src 'self' is enough. */
(function () {
  "use strict";
  function draw() {
    var boxes = document.querySelectorAll(".chart[data-options]");
    for (var i = 0; i < boxes.length; i++) {
      var data = document.getElementById(boxes[i].getAttribute("data-options"));
      if (!data) { continue; }
      try {
        var chart = echarts.init(boxes[i], null, { renderer: "canvas" });
        chart.setOption(JSON.parse(data.textContent));
      } catch (e) {
        boxes[i].textContent = "This chart could not be drawn.";
        if (window.console) { console.error("chart " + boxes[i].id + ": " + e); }
      }
    }
  }
  var pending = 0;
  function resize() {
    pending = 0;
    // Printing scales the drawn charts with CSS (qbr.css); a resize then
    // would measure the print layout's auto heights as zero.
    if (window.matchMedia && window.matchMedia("print").matches) { return; }
    var boxes = document.querySelectorAll(".chart");
    for (var i = 0; i < boxes.length; i++) {
      var c = echarts.getInstanceByDom(boxes[i]);
      if (c) { c.resize(); }
    }
  }
  window.addEventListener("resize", function () {
    if (!pending) { pending = window.setTimeout(resize, 150); }
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();

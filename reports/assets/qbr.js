/* secmetrics QBR dashboard: keeps the charts sized to their boxes when the
   window changes. The charts themselves are drawn by the page's inline
   scripts (one per chart, allowed by hash in the Content-Security-Policy). */
(function () {
  "use strict";
  var pending = 0;
  function resize() {
    pending = 0;
    var boxes = document.querySelectorAll(".chart");
    for (var i = 0; i < boxes.length; i++) {
      var c = window.echarts && window.echarts.getInstanceByDom(boxes[i]);
      if (c) { c.resize(); }
    }
  }
  window.addEventListener("resize", function () {
    if (!pending) { pending = window.setTimeout(resize, 150); }
  });
})();

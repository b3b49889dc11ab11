// Render every chart on the page: <script type="application/json" data-chart="target-id">
// holds a Bokeh JSON item built by the server. `window.dashboardReady` resolves when all
// charts are drawn (browser tests and screenshots wait for it).
(function () {
  "use strict";
  const nodes = Array.from(document.querySelectorAll('script[type="application/json"][data-chart]'));
  const work = nodes.map(function (node) {
    const item = JSON.parse(node.textContent);
    return window.Bokeh.embed.embed_item(item, node.dataset.chart);
  });
  window.dashboardReady = Promise.all(work).then(function () { return nodes.length; });
})();

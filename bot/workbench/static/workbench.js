// Charts of the 概览 page, drawn with ECharts from the JSON block the server rendered.
(function () {
  "use strict";
  var data = document.getElementById("chart-data");
  if (!data || !window.echarts) { return; }
  var series = JSON.parse(data.textContent);
  function bar(id, rows) {
    var el = document.getElementById(id);
    if (!el) { return; }
    var chart = window.echarts.init(el);
    chart.setOption({
      title: { text: el.getAttribute("data-title"), textStyle: { fontSize: 14 } },
      tooltip: {},
      grid: { left: 40, right: 10, bottom: 60 },
      xAxis: { type: "category", data: rows.map(function (r) { return r.name; }),
               axisLabel: { rotate: rows.length > 4 ? 30 : 0 } },
      yAxis: { type: "value", minInterval: 1 },
      series: [{ type: "bar", data: rows.map(function (r) { return r.value; }) }]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  bar("chart-week", series.week || []);
  bar("chart-category", series.category || []);
  bar("chart-station", series.station || []);
})();

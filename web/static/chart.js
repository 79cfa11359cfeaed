// A small hand-written SVG line chart (no library): series of values 0..1 over time,
// with a horizontal target line.  HotlineChart.draw(svg, series, target)
"use strict";
(function () {
  var NS = "http://www.w3.org/2000/svg";
  function node(tag, attrs, text) {
    var n = document.createElementNS(NS, tag);
    Object.keys(attrs).forEach(function (k) { n.setAttribute(k, attrs[k]); });
    if (text !== undefined) n.textContent = text;
    return n;
  }

  // series: [{name, cls, points: [[t, v], ...]}]; the view box is read from the svg
  function draw(svg, series, target) {
    var vb = svg.viewBox.baseVal, W = vb.width || 640, H = vb.height || 220;
    var L = 44, R = W - 10, T = 10, B = H - 24;
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var all = [];
    series.forEach(function (s) { s.points.forEach(function (p) { all.push(p[0]); }); });
    var t0 = all.length ? Math.min.apply(null, all) : 0, t1 = all.length ? Math.max.apply(null, all) : 1;
    if (t1 - t0 < 60) t1 = t0 + 60;
    function x(t) { return (L + (t - t0) / (t1 - t0) * (R - L)).toFixed(1); }
    function y(v) { return (T + (1 - v) * (B - T)).toFixed(1); }
    for (var r = 0; r <= 100; r += 20) {
      svg.appendChild(node("line", { "class": "grid", x1: L, x2: R, y1: y(r / 100), y2: y(r / 100) }));
      svg.appendChild(node("text", { x: L - 6, y: +y(r / 100) + 4, "text-anchor": "end" }, r + "%"));
    }
    svg.appendChild(node("line", { "class": "target", x1: L, x2: R, y1: y(target), y2: y(target) }));
    [t0, t1].forEach(function (t, i) {
      svg.appendChild(node("text", { x: x(t), y: H - 6, "text-anchor": i ? "end" : "start" },
        new Date(t * 1000).toLocaleTimeString("zh-CN", { hour12: false })));
    });
    series.forEach(function (s) {
      var pts = s.points.filter(function (p) { return p[1] !== null && p[1] !== undefined; });
      if (!pts.length) return;
      svg.appendChild(node("polyline", { "class": s.cls, points: pts.map(function (p) { return x(p[0]) + "," + y(p[1]); }).join(" ") }));
      var last = pts[pts.length - 1];
      svg.appendChild(node("circle", { "class": s.cls, cx: x(last[0]), cy: y(last[1]), r: 3 }));
    });
  }

  window.HotlineChart = { draw: draw };
})();

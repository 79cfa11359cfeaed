// Wallboard: the queues view over SSE (the queues API's /stream, through the session):
// the platform's figures (every call that reached it; per line and mode) with the alerts
// of the rolling window (`event: alert` adds to the log), the queues,
// agents every 5 s, a uPlot trend chart of the 24 h answer rate and the service level
// against the 95% target (uPlot from frontend/wallboard, built by `hotline setup`), and
// listen / whisper / barge (监听 / 耳语 / 强插) buttons on the agents that are talking.
"use strict";
(function () {
  var H = window.Hotline, cfg = H.config("wallboard-config"), spy = cfg.spy || {};
  var STATE_TEXT = { available: "空闲", ringing: "振铃", talking: "通话中", wrapup: "话后整理", paused: "暂停", unavailable: "未就绪", logged_out: "未签入" };
  var REASON_TEXT = { "break": "小休", lunch: "用餐", training: "培训", meeting: "会议", "after-call": "话后整理", other: "其他" };
  var MAX_POINTS = 720;
  var series = { at: [], answer: [], service: [] };
  var plot = null;

  function $(id) { return document.getElementById(id); }

  function mark(box, value) {
    box.classList.toggle("bad", value !== null && value !== undefined && value < cfg.target);
    box.classList.toggle("good", value !== null && value !== undefined && value >= cfg.target);
  }

  // -- the trend chart (uPlot) -------------------------------------------------------
  function pctOf(u, v) { return v === null || v === undefined ? "—" : (v * 100).toFixed(1) + "%"; }

  function makePlot() {
    var box = $("trend");
    if (typeof window.uPlot !== "function") {
      box.hidden = true;
      var hint = $("chart-missing");
      if (!hint) {  // the page says when the bundle was not built; here it failed to load
        hint = H.el("p", { id: "chart-missing", "class": "hint", text: "趋势图的图表库（uPlot）未能加载：请运行 hotline setup 重新构建。其余数据照常实时更新。" });
        box.parentNode.appendChild(hint);
      }
      return null;
    }
    var width = Math.max(320, Math.min(960, box.clientWidth || 900));
    return new window.uPlot({
      width: width,
      height: 240,
      scales: { x: { time: true }, y: { auto: false, range: [0, 1] } },
      axes: [
        { values: function (u, ticks) { return ticks.map(function (t) { return new Date(t * 1000).toLocaleTimeString("zh-CN", { hour12: false }); }); } },
        { values: function (u, ticks) { return ticks.map(function (t) { return Math.round(t * 100) + "%"; }); } }
      ],
      series: [
        { label: "时间", value: function (u, t) { return t === null || t === undefined ? "—" : new Date(t * 1000).toLocaleTimeString("zh-CN", { hour12: false }); } },
        { label: "24 小时接通率", stroke: "#1565c0", width: 2.5, value: pctOf },
        { label: cfg.sl_seconds + " 秒服务水平", stroke: "#ef6c00", width: 2.5, value: pctOf },
        { label: Math.round(cfg.target * 100) + "% 目标", stroke: "#c62828", width: 1.5, dash: [6, 4], points: { show: false }, value: pctOf }
      ]
    }, [[], [], [], []], box);
  }

  function chartPoint(view) {
    var d = view.calls.total.last_24h;
    series.at.push(view.at);
    series.answer.push(d.answer_rate === undefined ? null : d.answer_rate);
    series.service.push(d.service_level === undefined ? null : d.service_level);
    if (series.at.length > MAX_POINTS) { series.at.shift(); series.answer.shift(); series.service.shift(); }
    if (!plot) return;
    var target = series.at.map(function () { return cfg.target; });
    var at = series.at.slice();
    if (at.length === 1) { at = [at[0] - 30, at[0]]; }  // one view: a visible line, not a dot
    var pad = at.length - series.at.length;
    function padded(values) { return pad ? [values[0]].concat(values) : values.slice(); }
    plot.setData([at, padded(series.answer), padded(series.service), padded(target)]);
    plot.root.dataset.points = String(series.at.length);
  }

  // -- the live view ---------------------------------------------------------------
  // -- the platform's figures: every call that reached it, per line and mode ------------
  var MODES = cfg.modes || {};
  function scopeText(scope) {
    if (scope === "*") return "全部呼入";
    if (scope.indexOf("line:") === 0) return "热线 " + scope.slice(5);
    if (scope.indexOf("mode:") === 0) return MODES[scope.slice(5)] || scope.slice(5);
    return scope;
  }
  var FIGURE_TEXT = { answer_rate: "接通率", service_level: cfg.sl_seconds + " 秒服务水平" };
  function alertText(a) {
    return scopeText(a.scope) + " " + FIGURE_TEXT[a.figure] + " " + H.pct(a.value) + " 低于 " + H.pct(a.target) +
      "（近 " + a.window_minutes + " 分钟 " + a.offered + " 通）";
  }

  function lineRow(label, attrs, f) {
    var by = f.answered_by, ab = f.abandoned_by;
    var row = H.el("tr", attrs,
      H.el("td", { text: label }), H.el("td", { text: f.offered }),
      H.el("td", { text: f.answered + "（" + [by.agent, by.seats, by.subcenter, by.province].join(" / ") + "）" }),
      H.el("td", { text: f.abandoned + "（" + [ab.routing, ab.ivr, ab.announcement, ab.queue, ab.target].join(" / ") + "）" }),
      H.el("td", { "class": "rate", text: H.pct(f.answer_rate) }), H.el("td", { "class": "sl", text: H.pct(f.service_level) }));
    row.classList.toggle("bad", f.answer_rate !== null && f.answer_rate < cfg.target);
    return row;
  }

  function showCalls(calls) {
    var body = H.clear($("lines").tBodies[0]);
    body.appendChild(lineRow("全部", { "data-scope": "*" }, calls.total.last_24h));
    calls.modes.forEach(function (m) { body.appendChild(lineRow(MODES[m.mode] || m.mode, { "data-mode": m.mode }, m.last_24h)); });
    calls.lines.forEach(function (l) { body.appendChild(lineRow(l.line + (MODES[l.mode] ? " " + MODES[l.mode] : ""), { "data-line": l.line }, l.last_24h)); });
    var list = H.clear($("alerts"));
    if (!calls.alerts.active.length) list.appendChild(H.el("li", { "class": "hint", text: "无告警" }));
    calls.alerts.active.forEach(function (a) { list.appendChild(H.el("li", { "class": "bad", "data-alert": a.scope + "|" + a.figure, text: alertText(a) })); });
    $("alert-window").textContent = calls.window.minutes;
  }

  function logAlert(a) {
    var when = new Date(a.at * 1000).toLocaleTimeString("zh-CN", { hour12: false });
    var log = $("alert-log");
    log.insertBefore(H.el("li", { text: when + " " + (a.state === "raised" ? "告警：" : "恢复：") + alertText(a) }), log.firstChild);
    while (log.children.length > 10) log.removeChild(log.lastChild);
  }

  function showView(view) {
    var t = view.total, c = view.calls.total, d = c.last_24h, today = c.today;
    $("kpi-waiting").textContent = t.waiting;
    $("kpi-longest").textContent = H.secs(t.longest_wait);
    $("kpi-answer").textContent = H.pct(d.answer_rate);
    $("kpi-sl").textContent = H.pct(d.service_level);
    $("kpi-today").textContent = today.offered + " / " + today.answered + " / " + today.abandoned;
    $("kpi-progress").textContent = view.calls.in_progress;
    showCalls(view.calls);
    mark($("kpi-answer-box"), d.answer_rate);
    mark($("kpi-sl-box"), d.service_level);
    $("updated").textContent = "更新于 " + new Date(view.at * 1000).toLocaleTimeString("zh-CN", { hour12: false });
    var body = H.clear($("queues").tBodies[0]);
    view.queues.forEach(function (q) {
      var a = q.agents || {};
      body.appendChild(H.el("tr", { "data-queue": q.queue },
        H.el("td", { text: q.queue }), H.el("td", { text: q.waiting }), H.el("td", { text: H.secs(q.longest_wait) }),
        H.el("td", { text: a.available || 0 }), H.el("td", { text: (a.talking || 0) + (a.ringing || 0) }),
        H.el("td", { text: a.wrapup || 0 }), H.el("td", { text: a.paused || 0 }),
        H.el("td", { text: H.pct(q.last_24h.answer_rate) }), H.el("td", { text: H.pct(q.last_24h.service_level) })));
    });
    chartPoint(view);
  }

  // -- listen / whisper / barge ----------------------------------------------------
  function spyResult(ok, text) {
    var p = $("spy-result");
    p.hidden = false;
    p.className = ok ? "ok" : "error";
    p.textContent = text;
  }

  async function startSpy(agent, mode, button) {
    button.disabled = true;
    spyResult(true, "正在发起" + spy.modes[mode] + "：" + agent + "…");
    try {
      var r = await H.api("POST", spy.url, { agent: agent, mode: mode });
      spyResult(true, r.message);
    } catch (e) {
      spyResult(false, spy.modes[mode] + "失败：" + e.message);
    } finally {
      button.disabled = false;
    }
  }

  function spyCell(a) {
    var td = H.el("td", { "class": "spy" });
    if (a.state !== "talking") return td;
    Object.keys(spy.modes).forEach(function (mode) {
      var b = H.el("button", { type: "button", "class": mode, "data-spy": mode, text: spy.modes[mode] });
      b.addEventListener("click", function () { startSpy(a.name, mode, b); });
      td.appendChild(b);
    });
    return td;
  }

  // -- agents ------------------------------------------------------------------------
  var lastAgents = 0;

  async function agents() {
    lastAgents = Date.now();
    try {
      var data = await H.api("GET", cfg.agents);
      var counts = {}, body = H.clear($("agents").tBodies[0]);
      data.agents.forEach(function (a) {
        counts[a.state] = (counts[a.state] || 0) + 1;
        var row = H.el("tr", { "data-agent": a.name, "class": "state-" + a.state },
          H.el("td", { text: a.name }), H.el("td", { text: a.display || "" }), H.el("td", { text: a.extension }),
          H.el("td", { "class": "state", text: STATE_TEXT[a.state] || a.state }), H.el("td", { text: REASON_TEXT[a.reason] || a.reason || "" }));
        if (spy.allowed) row.appendChild(spyCell(a));
        body.appendChild(row);
      });
      $("agent-counts").textContent = Object.keys(counts).sort().map(function (k) { return (STATE_TEXT[k] || k) + " " + counts[k]; }).join("　");
    } catch (e) { $("agent-counts").textContent = "坐席状态暂不可用：" + e.message; }
  }

  function connect() {
    var source = new EventSource(cfg.stream, { withCredentials: true });
    source.addEventListener("stats", function (ev) {
      $("stream-error").hidden = true;
      showView(JSON.parse(ev.data));
      if (Date.now() - lastAgents > 1000) agents();  // a new view: someone's state may have changed
    });
    source.addEventListener("alert", function (ev) { logAlert(JSON.parse(ev.data)); });
    source.onerror = function () {
      $("stream-error").hidden = false;
      $("stream-error").textContent = "实时数据连接中断，正在重连…（统计服务 hotline stats 是否在运行？）";
    };
  }

  plot = makePlot();
  connect();
  agents();
  setInterval(agents, 5000);
})();

// Wallboard: the queues view over SSE (the queues API's /stream, through the session),
// agents every 5 s, and a trend chart of the answer rate and service level.
"use strict";
(function () {
  var H = window.Hotline, cfg = H.config("wallboard-config");
  var STATE_TEXT = { available: "空闲", ringing: "振铃", talking: "通话中", wrapup: "话后整理", paused: "暂停", unavailable: "未就绪", logged_out: "未签入" };
  var REASON_TEXT = { "break": "小休", lunch: "用餐", training: "培训", meeting: "会议", "after-call": "话后整理", other: "其他" };
  var history = { answer: [], service: [] };

  function $(id) { return document.getElementById(id); }

  function mark(box, value) {
    box.classList.toggle("bad", value !== null && value !== undefined && value < cfg.target);
    box.classList.toggle("good", value !== null && value !== undefined && value >= cfg.target);
  }

  function showView(view) {
    var t = view.total, d = t.last_24h, today = t.today;
    $("kpi-waiting").textContent = t.waiting;
    $("kpi-longest").textContent = H.secs(t.longest_wait);
    $("kpi-answer").textContent = H.pct(d.answer_rate);
    $("kpi-sl").textContent = H.pct(d.service_level);
    $("kpi-today").textContent = today.offered + " / " + today.answered + " / " + today.abandoned;
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
    history.answer.push([view.at, d.answer_rate]);
    history.service.push([view.at, d.service_level]);
    if (history.answer.length > 720) { history.answer.shift(); history.service.shift(); }
    window.HotlineChart.draw($("trend"), [
      { name: "answer", cls: "answer", points: history.answer },
      { name: "service", cls: "service", points: history.service }], cfg.target);
  }

  var lastAgents = 0;

  async function agents() {
    lastAgents = Date.now();
    try {
      var data = await H.api("GET", cfg.agents);
      var counts = {}, body = H.clear($("agents").tBodies[0]);
      data.agents.forEach(function (a) {
        counts[a.state] = (counts[a.state] || 0) + 1;
        body.appendChild(H.el("tr", { "data-agent": a.name, "class": "state-" + a.state },
          H.el("td", { text: a.name }), H.el("td", { text: a.display || "" }), H.el("td", { text: a.extension }),
          H.el("td", { "class": "state", text: STATE_TEXT[a.state] || a.state }), H.el("td", { text: REASON_TEXT[a.reason] || a.reason || "" })));
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
    source.onerror = function () {
      $("stream-error").hidden = false;
      $("stream-error").textContent = "实时数据连接中断，正在重连…（统计服务 hotline stats 是否在运行？）";
    };
  }

  connect();
  agents();
  setInterval(agents, 5000);
})();

// Agent desktop: queue state (queues API, own agent only), the screen pop from the
// softphone's events or the agent's newest draft, the order form, the knowledge base.
"use strict";
(function () {
  var H = window.Hotline, cfg = H.config("desk-config");
  var STATE_TEXT = { available: "就绪", ringing: "振铃", talking: "通话中", wrapup: "话后整理", paused: "暂停",
                     unavailable: "未就绪（话机未注册）", logged_out: "未签入" };
  var MODE_TEXT = { direct: "12345 直接拨打", merge: "整体并入", dual: "双号并行", subcenter: "设分中心" };
  var current = null;   // the order in the form
  var kbRefs = [];
  var call = null;      // the softphone's call: {linkedid, caller, origin, headers}

  function $(id) { return document.getElementById(id); }
  function show(node, on) { node.hidden = !on; }
  function say(id, text) { var n = $(id); n.textContent = text || ""; show(n, !!text); }

  // -- queue state -------------------------------------------------------------
  var agentUrl = "/api/v1/queues/agents/" + encodeURIComponent(cfg.agent);

  async function refreshState() {
    try {
      var data = await H.api("GET", "/api/v1/queues/agents");
      var me = data.agents.filter(function (a) { return a.name === cfg.agent; })[0];
      $("my-state").textContent = me ? (STATE_TEXT[me.state] || me.state) : "未登记";
      var phone = !me || !me.interface ? "" : me.interface === "PJSIP/" + cfg.softphone.endpoint ? "浏览器软电话" : "话机";
      $("my-reason").textContent = [me && me.paused && me.reason ? (cfg.pause_reasons[me.reason] || me.reason) : "",
                                    phone].filter(Boolean).join(" · ");
      $("state-panel").dataset.state = me ? me.state : "";
      say("state-error", "");
    } catch (e) { $("my-state").textContent = "未知"; say("state-error", "状态暂不可用：" + e.message); }
  }

  async function act(what) {
    try {
      if (what === "pause") await H.api("POST", agentUrl + "/pause", { reason: $("pause-reason").value });
      else if (what === "wrapup") await H.api("POST", agentUrl + "/pause", { reason: "after-call" });
      else if (what === "login") await H.api("POST", agentUrl + "/login", { device: $("login-device").value });
      else await H.api("POST", agentUrl + "/" + what);
      say("state-error", "");
    } catch (e) { say("state-error", e.message); }
    refreshState();
  }

  document.querySelectorAll("#state-panel button[data-act]").forEach(function (b) {
    b.addEventListener("click", function () { act(b.dataset.act); });
  });

  // -- screen pop ----------------------------------------------------------------
  function deptName(code) {
    var d = cfg.departments.filter(function (x) { return x.code === code; })[0];
    return d ? d.name : (code || "");
  }

  function showPop(pop, callState) {
    var o = pop.order;
    show($("pop-empty"), false);
    show($("pop-fields"), true);
    $("pop-caller").textContent = o.caller_phone || "（未显示号码）";
    $("pop-origin").textContent = o.origin || "";
    $("pop-mode").textContent = MODE_TEXT[o.mode] || o.mode || "";
    $("pop-dept").textContent = pop.department_name || deptName(o.origin_department);
    $("pop-order").textContent = o.number + "（" + (o.status_text || o.status) + "）";
    if (callState) $("pop-call").textContent = callState;
    var list = H.clear($("pop-earlier"));
    (pop.earlier || []).forEach(function (e) {
      list.appendChild(H.el("li", {}, H.el("span", { "class": "mono", text: e.number }), " ",
        e.title || "", " · ", e.status_text || e.status));
    });
    if (!(pop.earlier || []).length) list.appendChild(H.el("li", { "class": "hint", text: "无" }));
  }

  function showRinging(d) {
    show($("pop-empty"), false);
    show($("pop-fields"), true);
    $("pop-caller").textContent = d.caller || "";
    $("pop-origin").textContent = d.origin || "";
    var h = d.headers || {};
    $("pop-mode").textContent = MODE_TEXT[h["X-Hotline-Mode"]] || h["X-Hotline-Mode"] || "";
    $("pop-dept").textContent = deptName(decodeURIComponent(h["X-Hotline-Dept"] || ""));
    $("pop-order").textContent = "";
    $("pop-call").textContent = "振铃";
  }

  async function popForCall(linkedid, tries) {
    try {
      var pop = await H.api("GET", "/agent/pop?linkedid=" + encodeURIComponent(linkedid));
      if (pop.pending) {
        if (tries > 0) setTimeout(function () { popForCall(linkedid, tries - 1); }, 1000);
        else $("pop-call").textContent = "通话中（工单尚未生成：转接服务 hotline handoff 是否在运行？）";
        return;
      }
      showPop(pop, call && call.linkedid === linkedid ? "通话中" : "");
      load(pop.order);
    } catch (e) { say("form-error", e.message); }
  }

  document.addEventListener("softphone:incoming", function (ev) { call = ev.detail || {}; showRinging(call); });
  document.addEventListener("softphone:answered", function (ev) {
    call = ev.detail || {};
    $("pop-call").textContent = "通话中";
    if (call.linkedid) popForCall(call.linkedid, 20);
    setTimeout(refreshState, 1000);  // the queue state follows the call (talking)
  });
  document.addEventListener("softphone:ended", function () {
    $("pop-call").textContent = "已挂断";
    call = null;
    refreshState();
  });

  // a desk phone or a SIP softphone: the newest draft of this agent is the call's
  async function pollCurrent() {
    if (call) return;
    try {
      var pop = await H.api("GET", "/agent/pop");
      if (pop.order && (!current || current.id !== pop.order.id) && (!current || current.status !== "draft")) {
        showPop(pop, "");
        load(pop.order);
      }
    } catch (e) { /* shown by the next action */ }
  }

  // -- the order form --------------------------------------------------------------
  var FIELDS = ["caller_name", "caller_phone", "type", "category_code", "urgency", "address", "title", "content"];

  function load(o) {
    current = o;
    $("form-number").textContent = o.number;
    $("form-status").textContent = o.status_text || o.status;
    FIELDS.forEach(function (k) { $("f-" + k).value = o[k] === null || o[k] === undefined ? (k === "urgency" ? "normal" : "") : o[k]; });
    $("f-confidential").checked = !!o.confidential;
    $("f-no_callback").checked = !!o.no_callback;
    kbRefs = (o.kb_refs || []).slice();
    $("f-kb_refs").textContent = kbRefs.join("、");
    say("form-error", "");
    refreshSuggest();
  }

  function step() { return document.querySelector('input[name="step"]:checked').value; }

  function showStep() {
    var s = step();
    document.querySelectorAll("#order-form .step").forEach(function (n) { n.hidden = !n.classList.contains("step-" + s); });
    var disp = $("f-disposition").value;
    document.querySelectorAll(".only-emergency").forEach(function (n) { n.hidden = disp !== "emergency"; });
    document.querySelectorAll(".only-repeat").forEach(function (n) { n.hidden = disp !== "unreasonable_repeat"; });
  }
  document.querySelectorAll('input[name="step"]').forEach(function (r) { r.addEventListener("change", showStep); });
  $("f-disposition").addEventListener("change", showStep);
  showStep();

  function formBody() {
    var fields = {};
    FIELDS.forEach(function (k) { var v = $("f-" + k).value.trim(); fields[k] = v === "" ? null : v; });
    // the caller as loaded goes back unsent: it may be masked (workorder/privacy.py), and a
    // masked number is no number to write
    ["caller_name", "caller_phone"].forEach(function (k) {
      if (fields[k] === (current[k] === undefined ? null : current[k])) delete fields[k];
    });
    if (!fields.urgency) delete fields.urgency;
    fields.confidential = $("f-confidential").checked;
    fields.no_callback = $("f-no_callback").checked;
    var body = { step: step(), fields: fields, version: current.version };
    if (body.step === "dispatch") {
      body.main_unit = $("f-main_unit").value || null;
      body.co_units = Array.prototype.filter.call($("f-co_units").options, function (o) { return o.selected; })
        .map(function (o) { return o.value; });
    } else if (body.step === "direct_answer") {
      body.answer = $("f-answer").value.trim() || null;
      body.kb_refs = kbRefs;
    } else if (body.step === "reject") {
      body.disposition = $("f-disposition").value || null;
      body.transfer_to = $("f-transfer_to").value || null;
      body.parent_id = $("f-parent_id").value ? Number($("f-parent_id").value) : null;
    }
    return body;
  }

  $("order-form").addEventListener("submit", async function (ev) {
    ev.preventDefault();
    if (!current) { say("form-error", "没有选中的工单：接听来电或点“新建工单”"); return; }
    try {
      var o = await H.api("POST", "/agent/orders/" + current.id + "/submit", formBody());
      load(o);
      say("form-notice", "已提交：" + o.number + "（" + (o.status_text || o.status) + "）");
      refreshRecent();
    } catch (e) { say("form-notice", ""); say("form-error", e.message); }
  });

  $("new-order").addEventListener("click", async function () {
    try {
      var o = await H.api("POST", "/api/v1/orders", {});
      load(o);
      say("form-notice", "新工单 " + o.number);
    } catch (e) { say("form-error", e.message); }
  });

  // -- dispatch suggestions (POST /api/v1/orders/suggest): chips that fill a field -----
  // A suggestion never dispatches: clicking a chip only fills 主办单位 or 诉求分类 and
  // selects 派单; the agent still submits the form.
  var suggestTimer = null, suggestSeq = 0;
  function chip(item, onpick) {
    return H.el("button", { type: "button", class: "chip", title: (item.why || []).join("；"),
                            "data-code": item.code, onclick: onpick }, item.name);
  }
  async function refreshSuggest() {
    var text = $("f-content").value.trim(), seq = ++suggestSeq;
    if (text.length < 4) { show($("suggest"), false); return; }
    try {
      var data = await H.api("POST", "/api/v1/orders/suggest", { content: text.slice(0, 4000), limit: 3 });
      if (seq !== suggestSeq) return;  // an older answer after a newer question
      var units = H.clear($("suggest-units")), cats = H.clear($("suggest-cats"));
      data.units.forEach(function (u) {
        units.appendChild(chip(u, function () {
          $("f-main_unit").value = u.code;
          var r = document.querySelector('input[name="step"][value="dispatch"]');
          if (r && !r.checked) { r.checked = true; showStep(); }
        }));
      });
      data.categories.forEach(function (c) {
        cats.appendChild(chip(c, function () { $("f-category_code").value = c.code; }));
      });
      show($("suggest"), data.units.length > 0 || data.categories.length > 0);
    } catch (e) { show($("suggest"), false); }
  }
  $("f-content").addEventListener("input", function () {
    clearTimeout(suggestTimer);
    suggestTimer = setTimeout(refreshSuggest, 400);
  });

  // -- knowledge base ------------------------------------------------------------------
  $("kb-form").addEventListener("submit", async function (ev) {
    ev.preventDefault();
    var list = H.clear($("kb-results"));
    try {
      var data = await H.api("GET", "/api/v1/kb/search?q=" + encodeURIComponent($("kb-q").value.trim()));
      data.items.forEach(function (a) {
        list.appendChild(H.el("li", {}, H.el("b", { text: a.title }), H.el("br"), a.snippet || a.body || "", " ",
          H.el("button", { type: "button", onclick: async function () {
            var full = await H.api("GET", "/api/v1/kb/articles/" + a.id);
            if (kbRefs.indexOf(a.id) < 0) kbRefs.push(a.id);
            $("f-kb_refs").textContent = kbRefs.join("、");
            $("f-answer").value = full.body;
            document.querySelector('input[name="step"][value="direct_answer"]').checked = true;
            showStep();
          } }, "引用答复")));
      });
      if (!data.items.length) list.appendChild(H.el("li", { "class": "hint", text: "没有找到" }));
    } catch (e) { list.appendChild(H.el("li", { "class": "error", text: e.message })); }
  });

  // -- recent orders ---------------------------------------------------------------
  async function refreshRecent() {
    try {
      var data = await H.api("GET", "/agent/recent");
      var list = H.clear($("recent"));
      data.items.forEach(function (o) {
        list.appendChild(H.el("li", {}, H.el("span", { "class": "mono", text: o.number }), " ",
          o.title || o.caller_phone || "", " · ", o.status_text || o.status));
      });
    } catch (e) { /* the next refresh tries again */ }
  }

  refreshState();
  refreshRecent();
  pollCurrent();
  setInterval(refreshState, 5000);
  setInterval(refreshRecent, 15000);
  setInterval(pollCurrent, 3000);
})();

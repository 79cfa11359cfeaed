// The agent desktop's softphone panel: registers the agent's WebRTC endpoint with
// HotlineSoftphone (softphone/softphone.js, JsSIP) and drives it from the buttons:
// answer, hang up, hold, mute, and blind or attended (consult) transfer to the
// targets of the map and the supervisors.  The screen pop is agent.js's: it listens
// to the softphone:* events this panel's calls raise.
"use strict";
(function () {
  var H = window.Hotline, cfg = H.config("desk-config"), SP = window.HotlineSoftphone;
  var REG_TEXT = { stopped: "未连接", registering: "注册中", registered: "已注册", unregistered: "未注册", failed: "注册失败" };
  var CALL_TEXT = { idle: "空闲", ringing: "来电振铃", calling: "呼叫中", active: "通话中" };
  var CONSULT_TEXT = { calling: "正在呼叫转接目标", active: "与转接目标通话中（来电人保持中）" };

  function $(id) { return document.getElementById(id); }
  function fail(e) { var n = $("sp-error"); n.textContent = e ? (e.message || String(e)) : ""; n.hidden = !e; }

  // every button is enabled exactly when the softphone can do what it says
  function refresh() {
    var st = SP.state, on = st.call === "active", target = $("sp-target").value;
    $("sp-reg").textContent = REG_TEXT[st.registration] || st.registration;
    $("sp-reg").dataset.state = st.registration;
    var text = CALL_TEXT[st.call] || st.call;
    if (on && st.held) text += "（保持）";
    if (on && st.muted) text += "（静音）";
    if (st.consult !== "idle") text += " · " + (CONSULT_TEXT[st.consult] || st.consult);
    $("sp-call").textContent = text;
    $("sp-call").dataset.state = st.call;
    $("sp-answer").disabled = st.call !== "ringing";
    $("sp-hangup").disabled = st.call === "idle";
    $("sp-hold").disabled = !on || st.consult !== "idle" || !!st.renegotiating;
    $("sp-hold").textContent = st.held ? "取消保持" : "保持";
    $("sp-hold").setAttribute("aria-pressed", String(!!st.held));
    $("sp-mute").disabled = !on;
    $("sp-mute").textContent = st.muted ? "取消静音" : "静音";
    $("sp-mute").setAttribute("aria-pressed", String(!!st.muted));
    $("sp-blind").disabled = !on || !target || st.consult !== "idle";
    $("sp-consult").disabled = !on || !target || st.consult !== "idle";
    $("sp-complete").disabled = st.consult !== "active";
    $("sp-cancel").disabled = st.consult === "idle";
  }

  function button(id, run) {
    $(id).addEventListener("click", function () {
      try { fail(null); run(SP.state); } catch (e) { fail(e); }
      refresh();
    });
  }

  button("sp-answer", function () { SP.answer(); });
  button("sp-hangup", function () { SP.hangup(); });
  button("sp-hold", function (st) { SP.hold(!st.held); });
  button("sp-mute", function (st) { SP.mute(!st.muted); });
  button("sp-blind", function () { SP.transfer($("sp-target").value); });
  button("sp-consult", function () { SP.transfer($("sp-target").value, { attended: true }); });
  button("sp-complete", function () { SP.completeTransfer(); });
  button("sp-cancel", function () { SP.cancelTransfer(); });
  $("sp-target").addEventListener("change", refresh);

  ["registered", "unregistered", "incoming", "answered", "ended", "held", "transferred"].forEach(function (name) {
    document.addEventListener("softphone:" + name, refresh);
  });
  document.addEventListener("softphone:transferfailed", function (ev) {
    fail(new Error("转接失败" + (ev.detail && ev.detail.cause ? "：" + ev.detail.cause : "")));
    refresh();
  });
  document.addEventListener("softphone:unregistered", function (ev) {
    if (ev.detail && ev.detail.cause) fail(new Error("软电话未注册：" + ev.detail.cause));
  });

  // the softphone is the agent's own: true once registered (agent.js logs it into the queues)
  window.DeskPhone = { registered: function () { return SP.state.registration === "registered"; } };

  async function start() {
    try {
      var secret = await H.api("GET", "/agent/softphone");
      SP.start(Object.assign({}, cfg.softphone, { password: secret.password }));
    } catch (e) { fail(e); }
    refresh();
  }

  // leaving the page: un-REGISTER and close the WebSocket with a close frame, not a torn TCP
  window.addEventListener("pagehide", function () { try { SP.stop(); } catch (e) { /* leaving anyway */ } });

  refresh();
  start();
  setInterval(refresh, 1000);  // hold/mute/consult change without an event of their own
})();

// The pages' small script layer: the CSRF header on every change, and DOM building
// that only ever sets text (never HTML), so whatever a caller said shows as text.
"use strict";
(function () {
  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.content : "";
  }

  function detail(body, status) {
    if (body && typeof body.detail === "string") return body.detail;
    if (body && Array.isArray(body.detail)) return body.detail.map(function (d) { return (d.loc || []).join(".") + ": " + d.msg; }).join("; ");
    return "HTTP " + status;
  }

  async function api(method, url, body) {
    var opts = { method: method, credentials: "same-origin", headers: { "Accept": "application/json" } };
    if (method !== "GET") opts.headers["X-CSRF-Token"] = csrf();
    if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
    var r = await fetch(url, opts);
    if (r.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname); throw new Error("请重新登录"); }
    var text = await r.text();
    var data = text ? JSON.parse(text) : null;
    if (!r.ok) { var e = new Error(detail(data, r.status)); e.status = r.status; throw e; }
    return data;
  }

  // el("tr", {class: "x"}, "text", otherNode ...): strings become text nodes
  function el(tag, attrs) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) return;
      if (k.slice(0, 2) === "on") node.addEventListener(k.slice(2), v);
      else if (k === "text") node.textContent = v;
      else node.setAttribute(k, v === true ? "" : String(v));
    });
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined) continue;
      node.appendChild(typeof c === "object" ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }

  function config(id) {
    var n = document.getElementById(id);
    return n ? JSON.parse(n.textContent) : {};
  }

  function pct(v) { return v === null || v === undefined ? "—" : (v * 100).toFixed(1) + "%"; }

  function secs(v) {
    if (v === null || v === undefined) return "—";
    v = Math.round(v);
    return v >= 60 ? Math.floor(v / 60) + " 分 " + (v % 60) + " 秒" : v + " 秒";
  }

  window.Hotline = { api: api, el: el, clear: clear, config: config, csrf: csrf, pct: pct, secs: secs };
})();

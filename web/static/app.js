/* The web help center's only script: search suggestions as you type, the deadline form's
   variants, and, when Telegram opens the page as a Mini App, its theme and the buttons that post
   back to the chat. No library, nothing loaded from elsewhere; every text comes from the page. */
(function () {
  "use strict";
  var body = document.body;
  var lang = body.getAttribute("data-lang") || "zh";

  // --- Telegram Mini App: launch parameters arrive in the URL fragment of the first page ---------
  function hashParams() {
    var out = {};
    var hash = (location.hash || "").replace(/^#/, "");
    if (hash.indexOf("tgWebApp") < 0) return out;
    hash.split("&").forEach(function (pair) {
      var i = pair.indexOf("=");
      if (i < 0) return;
      try { out[decodeURIComponent(pair.slice(0, i))] = decodeURIComponent(pair.slice(i + 1).replace(/\+/g, "%20")); }
      catch (e) { /* a malformed pair is ignored */ }
    });
    return out;
  }
  var tg = {};
  try { tg = JSON.parse(sessionStorage.getItem("hc.tg") || "{}"); } catch (e) { tg = {}; }
  var launch = hashParams();
  if (launch.tgWebAppData) {
    tg = { initData: launch.tgWebAppData, theme: launch.tgWebAppThemeParams || "" };
    try { sessionStorage.setItem("hc.tg", JSON.stringify(tg)); } catch (e) { /* private mode */ }
  }
  var inTelegram = !!tg.initData;
  var isFrame = window.parent !== window;

  function postEvent(type, data) {
    var payload = JSON.stringify(data || {});
    try {
      if (window.TelegramWebviewProxy) window.TelegramWebviewProxy.postEvent(type, payload);
      else if (window.external && "notify" in window.external) window.external.notify(JSON.stringify({ eventType: type, eventData: data }));
      else if (isFrame) window.parent.postMessage(JSON.stringify({ eventType: type, eventData: data }), "https://web.telegram.org");
    } catch (e) { /* not inside Telegram */ }
  }
  var COLORS = { bg_color: "--tg-bg", text_color: "--tg-fg", hint_color: "--tg-muted", link_color: "--tg-link",
    button_color: "--tg-btn", button_text_color: "--tg-btn-fg", secondary_bg_color: "--tg-bg2" };
  function applyTheme(theme) {
    if (typeof theme === "string") { try { theme = JSON.parse(theme || "{}"); } catch (e) { theme = {}; } }
    Object.keys(COLORS).forEach(function (key) {
      var value = theme && theme[key];
      if (typeof value === "string" && /^#[0-9a-fA-F]{6}$/.test(value)) document.documentElement.style.setProperty(COLORS[key], value);
    });
  }
  function receiveEvent(type, data) {
    if (type === "theme_changed" && data && data.theme_params) applyTheme(data.theme_params);
    if (type === "back_button_pressed") history.back();
  }
  if (inTelegram) {
    body.classList.add("in-tg");
    applyTheme(tg.theme);
    window.Telegram = window.Telegram || {};
    window.Telegram.WebView = { receiveEvent: receiveEvent };
    if (isFrame) {
      window.addEventListener("message", function (event) {
        if (event.source !== window.parent || event.origin !== "https://web.telegram.org") return;
        try { var msg = JSON.parse(event.data); receiveEvent(msg.eventType, msg.eventData); } catch (e) { /* not ours */ }
      });
    }
    Array.prototype.forEach.call(document.querySelectorAll(".tg-only"), function (el) { el.hidden = false; });
    postEvent("web_app_ready");
    postEvent("web_app_expand");
    postEvent("web_app_setup_back_button", { is_visible: history.length > 1 });
  }

  // --- buttons that ask the chat to act (hand-off, reminder): the server checks initData ------------
  Array.prototype.forEach.call(document.querySelectorAll("button[data-action]"), function (button) {
    button.addEventListener("click", function () {
      var status = button.parentNode.querySelector(".status");
      var data = { initData: tg.initData || "", lang: lang };
      Array.prototype.forEach.call(button.attributes, function (a) {
        if (a.name.indexOf("data-") === 0) data[a.name.slice(5)] = a.value;
      });
      button.disabled = true;
      status.textContent = body.getAttribute("data-sending");
      fetch("/api/webapp", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(data) })
        .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, body: j }; }); })
        .then(function (res) {
          if (res.ok) {
            status.textContent = body.getAttribute("data-sent");
            setTimeout(function () { postEvent("web_app_close"); }, 1200);
          } else {
            status.textContent = res.body.message || res.body.error;
            button.disabled = false;
          }
        })
        .catch(function () { status.textContent = body.getAttribute("data-network"); button.disabled = false; });
    });
  });

  // --- search suggestions: a combobox with a listbox (keyboard: ↑ ↓ Enter Escape) ------------------
  var input = document.getElementById("q");
  var list = document.getElementById("q-list");
  if (input && list) {
    var timer = null, active = -1, asked = "";
    var close = function () { list.hidden = true; input.setAttribute("aria-expanded", "false"); active = -1;
      input.removeAttribute("aria-activedescendant"); };
    var mark = function (i) {
      var options = list.querySelectorAll("[role=option]");
      if (!options.length) return;
      active = (i + options.length) % options.length;
      Array.prototype.forEach.call(options, function (o, n) { o.setAttribute("aria-selected", n === active ? "true" : "false"); });
      input.setAttribute("aria-activedescendant", options[active].id);
    };
    var show = function (items) {
      list.textContent = "";
      items.forEach(function (item, n) {
        var li = document.createElement("li");
        li.id = "q-opt-" + n;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        if (item.best) li.className = "best";
        li.textContent = item.title;
        li.setAttribute("data-url", item.url);
        li.addEventListener("mousedown", function (e) { e.preventDefault(); location.href = item.url; });
        list.appendChild(li);
      });
      if (items.length) { list.hidden = false; input.setAttribute("aria-expanded", "true"); } else close();
    };
    var ask = function () {
      var q = input.value.trim().slice(0, 200);
      if (q === asked) return;
      asked = q;
      if (q.length < 2) { show([]); return; }
      var params = "lang=" + lang + "&q=" + encodeURIComponent(q);
      ["market", "role"].forEach(function (k) {
        var v = body.getAttribute("data-" + k);
        if (v) params += "&" + k.charAt(0) + "=" + encodeURIComponent(v);
      });
      fetch("/api/suggest?" + params).then(function (r) { return r.json(); }).then(function (j) {
        if (input.value.trim().slice(0, 200) === q) show(j.items || []);
      }).catch(function () { /* the form still works */ });
    };
    input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(ask, 150); });
    input.addEventListener("keydown", function (e) {
      if (e.key === "ArrowDown" && !list.hidden) { e.preventDefault(); mark(active + 1); }
      else if (e.key === "ArrowUp" && !list.hidden) { e.preventDefault(); mark(active - 1); }
      else if (e.key === "Escape") { close(); }
      else if (e.key === "Enter" && active >= 0 && !list.hidden) {
        e.preventDefault();
        location.href = list.querySelectorAll("[role=option]")[active].getAttribute("data-url");
      }
    });
    input.addEventListener("blur", function () { setTimeout(close, 100); });
  }

  // --- the deadline form: only the variants of the chosen case in the chosen market ---------------
  var caseSelect = document.getElementById("case");
  var marketSelect = document.getElementById("market");
  var variant = document.getElementById("variant");
  if (caseSelect && variant) {
    var filter = function () {
      var shown = 0;
      Array.prototype.forEach.call(variant.options, function (o) {
        var c = o.getAttribute("data-case");
        var m = o.getAttribute("data-market");
        o.hidden = o.disabled = !!c && (c !== caseSelect.value || (marketSelect && m !== marketSelect.value));
        if (c && !o.hidden) shown++;
        if (o.hidden && o.selected) variant.value = "";
      });
      variant.disabled = shown === 0;
      variant.previousElementSibling.hidden = variant.hidden = shown === 0;
    };
    caseSelect.addEventListener("change", filter);
    if (marketSelect) marketSelect.addEventListener("change", filter);
    filter();
  }
})();

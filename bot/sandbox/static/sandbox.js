/* 连心沙盒 — plain JavaScript, no build step.
 * Every action goes to /sandbox/api/…, which forwards it to the WeCom or DingTalk simulator;
 * the simulators talk to lianxin exactly as the real platforms do. The page polls every second.
 */
(function () {
  "use strict";

  var POLL_MS = 1000;
  var API = "/sandbox/api/";
  var state = {
    config: null,
    visitor: "",
    group: "",
    me: "",
    meManual: false,
    staff: "",
    office: "",
    rendered: {},
    seen: {},
    polling: false,
    pollTimer: null,
    inputs: {},
  };
  var people = {}; // user_id -> person

  // ------------------------------------------------------------------ small helpers

  function $(id) { return document.getElementById(id); }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  var toastTimer = null;
  function toast(message, isError) {
    var t = $("toast");
    t.textContent = message;
    t.className = "toast" + (isError ? " error" : "");
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { t.className = "toast hidden"; }, isError ? 5000 : 2600);
  }

  function api(method, path, body) {
    var opts = { method: method, headers: {} };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    return fetch(API + path, opts).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (data) {
        if (!res.ok) throw new Error(data.error || ("请求失败（HTTP " + res.status + "）"));
        return data;
      });
    });
  }

  function noop() { /* the error was shown in a toast */ }

  function act(promise, okMessage) {
    return promise.then(function (data) {
      if (okMessage) toast(okMessage);
      schedulePoll(150);
      return data;
    }).catch(function (err) {
      toast(err.message, true);
      throw err;
    });
  }

  // the server labels every message in service time with its date (快进 included)
  function timeOf(entry) {
    return entry.time_label || hhmm(entry.time);
  }

  function hhmm(ms) {
    var d = new Date(ms);
    return String(d.getHours()).padStart(2, "0") + ":" + String(d.getMinutes()).padStart(2, "0");
  }

  function nameOf(userId) {
    if (userId === "robot") return "连心机器人";
    var p = people[userId];
    return p ? p.name : userId;
  }

  // DingTalk shows the last two characters of a name; a department liaison shows 部门
  function avatarText(userId) {
    var p = people[userId];
    if (p && p.role === "department") return "部门";
    return nameOf(userId).slice(-2);
  }

  function randomVisitor() {
    var hex = "";
    for (var i = 0; i < 12; i++) hex += Math.floor(Math.random() * 16).toString(16);
    return "wmSandbox" + hex;
  }

  // ------------------------------------------------------------------ chat rendering

  function keepScroll(box, render) {
    var atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
    var before = box.scrollTop;
    saveInputs(box);
    render();
    restoreInputs(box);
    box.scrollTop = atBottom ? box.scrollHeight : before;
  }

  function saveInputs(box) {
    var inputs = box.querySelectorAll("input[data-key]");
    for (var i = 0; i < inputs.length; i++) {
      var inp = inputs[i];
      state.inputs[inp.dataset.key] = {
        value: inp.value,
        focused: document.activeElement === inp,
        start: inp.selectionStart,
        end: inp.selectionEnd,
      };
    }
  }

  function restoreInputs(box) {
    var inputs = box.querySelectorAll("input[data-key]");
    for (var i = 0; i < inputs.length; i++) {
      var inp = inputs[i];
      var saved = state.inputs[inp.dataset.key];
      if (!saved) continue;
      inp.value = saved.value;
      if (saved.focused) {
        inp.focus();
        try { inp.setSelectionRange(saved.start, saved.end); } catch (e) { /* not a text input */ }
      }
    }
  }

  function row(mine, avatarClass, avatarText, who, content) {
    var r = el("div", "row" + (mine ? " mine" : ""));
    r.appendChild(el("div", "avatar " + avatarClass, avatarText));
    var wrap = el("div", "bubble-wrap");
    if (who) wrap.appendChild(el("div", "who", who));
    wrap.appendChild(content);
    r.appendChild(wrap);
    return r;
  }

  function sysLine(text) {
    var d = el("div", "sys");
    d.appendChild(el("span", "", text));
    return d;
  }

  function emptyNote(box, text) {
    box.innerHTML = "";
    box.appendChild(el("div", "empty", text));
  }

  // ---- WeChat

  function renderPhone(items) {
    var box = $("phone-chat");
    if (!items || items.error) {
      emptyNote(box, items && items.error ? items.error : "");
      return;
    }
    if (!items.length) {
      emptyNote(box, "点下方「▣ 扫码」，选一个联络站海报或门牌上的二维码，进入连心客服。");
      return;
    }
    box.innerHTML = "";
    var lastLabel = "";
    items.forEach(function (m) {
      // like WeChat: a time line whenever the minute shown changes
      if (m.time_label && m.time_label !== lastLabel) {
        box.appendChild(el("div", "sys time", m.time_label));
        lastLabel = m.time_label;
      }
      if (m.from === "me") {
        if (m.kind === "enter") {
          box.appendChild(sysLine(m.text || "你打开了连心客服"));
          return;
        }
        box.appendChild(row(true, "me", "我", "", wxMine(m)));
      } else {
        box.appendChild(row(false, "kf", "连", "", wxKf(m)));
      }
    });
  }

  function wxMine(m) {
    var b = el("div", "bubble");
    if (m.kind === "image") {
      if (m.image) {
        var img = el("img", "photo");
        img.src = m.image;
        img.alt = "照片";
        b.appendChild(img);
      } else {
        b.textContent = "[图片]";
      }
    } else if (m.kind === "location") {
      b.appendChild(locationBox(m.text, m.address));
    } else {
      b.textContent = m.text;
    }
    return b;
  }

  function locationBox(name, address) {
    var d = el("div", "loc");
    d.appendChild(el("b", "pin", name || "位置"));
    if (address) d.appendChild(el("span", "muted small", address));
    return d;
  }

  function wxKf(m) {
    var b = el("div", "bubble");
    var t = m.msgtype;
    var body = m[t] || {};
    if (t === "text") {
      b.textContent = body.content || "";
    } else if (t === "msgmenu") {
      if (body.head_content) b.appendChild(el("div", "menu-head", body.head_content));
      (body.list || []).forEach(function (item) {
        var kind = item.type;
        var inner = item[kind] || {};
        if (kind === "click") {
          var a = el("button", "menu-item", inner.content);
          a.type = "button";
          a.dataset.menuId = inner.id;
          b.appendChild(a);
        } else {
          b.appendChild(el("div", "", inner.content || ""));
        }
      });
      if (body.tail_content) b.appendChild(el("div", "menu-tail", body.tail_content));
    } else if (t === "image") {
      b.textContent = "[图片]";
    } else if (t === "location") {
      b.appendChild(locationBox(body.name, body.address));
    } else if (t === "link") {
      b.textContent = "[链接] " + (body.title || body.url || "");
    } else {
      b.textContent = "[" + t + "]";
    }
    return b;
  }

  // ---- DingTalk

  function renderDing(boxId, view, viewer, emptyText, opts) {
    var box = $(boxId);
    if (!view || view.error) {
      emptyNote(box, view && view.error ? view.error : emptyText);
      return;
    }
    var messages = view.messages || [];
    if (!messages.length) {
      emptyNote(box, emptyText);
      return;
    }
    box.innerHTML = "";
    messages.forEach(function (entry) {
      var mine = entry.sender === viewer;
      var robot = entry.sender === "robot";
      var who = (robot ? "连心机器人" : nameOf(entry.sender)) + " · " + timeOf(entry);
      var content;
      if (entry.kind === "card") {
        content = renderCard(entry, viewer, opts && opts.conversation);
      } else {
        content = dingMessage(entry, robot, opts && opts.conversation, opts && opts.alerts);
      }
      var avatar = robot ? "连" : avatarText(entry.sender);
      box.appendChild(row(mine, robot ? "robot" : "person", avatar, mine ? "" : who, content));
    });
  }

  function isAlert(text) {
    return /超时|预警|督办|协助跟进|超过.*时限/.test(text || "");
  }

  function dingMessage(entry, robot, conversation, alerts) {
    var b = el("div", "bubble");
    if (entry.recalled) {
      b.appendChild(el("span", "recalled", "此消息已撤回"));
      return b;
    }
    var body = entry.body || {};
    var atIds = entry.at_user_ids || [];
    if (robot && (atIds.length || entry.at_all)) {
      var names = atIds.map(function (u) { return "@" + nameOf(u); });
      if (entry.at_all) names.push("@所有人");
      b.appendChild(el("div", "atline", names.join(" ")));
    }
    var t = entry.msgtype;
    if (!robot) {
      b.appendChild(document.createTextNode(entry.text || ""));
    } else if (t === "sampleMarkdown" || t === "markdown" || t === "actionCard" ||
               /^sampleActionCard/.test(t)) {
      var md = el("div", "md");
      md.innerHTML = markdown(body.text || body.title || "");
      b.appendChild(md);
      wireDtmd(md, conversation);
    } else if (t === "sampleImageMsg") {
      var img = el("img", "photo");
      img.src = mediaUrl(body.photoURL);
      img.alt = "群众发来的照片";
      b.appendChild(img);
    } else if (t === "sampleFile" || t === "sampleAudio") {
      var a = el("a", "file", "📎 " + (body.fileName || "文件"));
      a.href = mediaUrl(body.mediaId);
      a.target = "_blank";
      a.rel = "noopener";
      b.appendChild(a);
    } else {
      b.appendChild(document.createTextNode(body.content || entry.text || ""));
    }
    if (alerts && robot && isAlert(entry.text)) {
      b.classList.add("alert");
    }
    return b;
  }

  // A media id uploaded to the DingTalk simulator, served back through the sandbox API.
  function mediaUrl(id) {
    id = String(id || "");
    if (/^https?:\/\//.test(id)) return id;
    return API + "dingtalk/media?id=" + encodeURIComponent(id);
  }

  // DingTalk markdown subset: headings, **bold**, line breaks, links (dtmd:// become buttons).
  function markdown(src) {
    var out = [];
    String(src).split(/\n/).forEach(function (line) {
      var h = /^\s*#{1,6}\s+(.*)$/.exec(line);
      var html = inline(h ? h[1] : line.replace(/ {2,}$/, ""));
      out.push(h ? '<div class="h">' + html + "</div>" : html + "<br>");
    });
    return out.join("").replace(/(<br>)+$/, "");
  }

  function inline(text) {
    var parts = [];
    var re = /\[([^\]]+)\]\(([^)\s]+)\)/g;
    var last = 0;
    var m;
    while ((m = re.exec(text)) !== null) {
      parts.push(bold(esc(text.slice(last, m.index))));
      var label = esc(m[1]);
      var url = m[2];
      if (/^dtmd:\/\/dingtalkclient\/sendMessage\?content=/.test(url)) {
        var content = decodeURIComponent(url.split("content=")[1] || "");
        parts.push('<button type="button" class="dtmd" data-content="' + esc(content) + '">' +
                   label + "</button>");
      } else {
        parts.push('<span class="link">' + label + "</span>");
      }
      last = re.lastIndex;
    }
    parts.push(bold(esc(text.slice(last))));
    return parts.join("");
  }

  function bold(html) {
    return html.replace(/\*\*([^*]+)\*\*/g, "<b>$1</b>");
  }

  function wireDtmd(root, conversation) {
    var buttons = root.querySelectorAll("button.dtmd");
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].dataset.conversation = conversation || "";
    }
  }

  // ---- the case card, rendered from the template the DingTalk adapter ships

  function vars(card, viewer) {
    var mine = (card.privateData && card.privateData[viewer]) || {};
    return Object.assign({}, card.cardParamMap || {}, mine.cardParamMap || {});
  }

  function templateOf(entry) {
    var all = (state.config && state.config.card_templates) || {};
    return all[entry.cardTemplateId] || (state.config && state.config.card_template);
  }

  // a loop item's fields are addressed as ${loop.name}
  function withLoop(values, item) {
    var out = Object.assign({}, values);
    Object.keys(item || {}).forEach(function (k) { out["loop." + k] = item[k]; });
    return out;
  }

  function loopItems(comp, values) {
    var m = /^\$\{(\w+)\}$/.exec(comp.items || "");
    try { return m ? JSON.parse(values[m[1]] || "[]") : []; } catch (e) { return []; }
  }

  function subst(text, values) {
    return String(text || "").replace(/\$\{([\w.]+)\}/g, function (_, name) {
      return values[name] !== undefined ? values[name] : "";
    });
  }

  // visible expressions look like: ${btn_reply} == 'true' || ${holder_line} != ''
  function visible(expr, values) {
    if (!expr) return true;
    return String(expr).split("||").some(function (conj) {
      return conj.split("&&").every(function (cmp) { return compare(cmp, values); });
    });
  }

  function compare(cmp, values) {
    var m = /^\s*(\$\{[\w.]+\}|'[^']*')\s*(==|!=)\s*(\$\{[\w.]+\}|'[^']*')\s*$/.exec(cmp);
    if (!m) return true;
    var a = term(m[1], values);
    var b = term(m[3], values);
    return m[2] === "==" ? a === b : a !== b;
  }

  function term(t, values) {
    if (t.charAt(0) === "'") return t.slice(1, -1);
    var v = values[t.slice(2, -1)];
    return v === undefined ? "" : String(v);
  }

  function renderCard(entry, viewer, conversation) {
    var card = entry.card || {};
    var values = vars(card, viewer);
    var tpl = templateOf(entry);
    var box = el("div", "card");
    box.dataset.outTrackId = entry.outTrackId;
    box.dataset.caseId = values.case_id || "";
    box.dataset.at = (entry.at_user_ids || []).join(",");
    if ((entry.at_user_ids || []).length) {
      var at = el("div", "card-params atline",
        entry.at_user_ids.map(function (u) { return "@" + nameOf(u); }).join(" "));
      box.appendChild(at);
    }
    if (!tpl || !tpl.layout) {
      box.appendChild(el("div", "card-params", JSON.stringify(values, null, 1)));
      return box;
    }
    var body = null;
    var inputKey = null;
    tpl.layout.forEach(function (comp) {
      if (!visible(comp.visible, values)) return;
      if (comp.component === "header") {
        var head = el("div", "card-head");
        head.appendChild(el("div", "card-title", subst(comp.title, values)));
        var tag = subst(comp.tag, values);
        if (tag) head.appendChild(el("span", "card-tag s-" + (values.status || ""), tag));
        box.appendChild(head);
        return;
      }
      if (comp.component === "loop") {  // the solicitation card's option buttons
        var list = el("div", "card-loop");
        loopItems(comp, values).forEach(function (item) {
          var lv = withLoop(values, item);
          (comp.children || []).forEach(function (child) {
            if (!visible(child.visible, lv)) return;
            if (child.component === "text") {
              list.appendChild(el("div", "card-text " + (child.style || ""), subst(child.text, lv)));
              return;
            }
            var spec = (tpl.buttons || []).filter(function (b) { return b.id === child.ref; })[0];
            if (!spec || !visible(spec.visible, lv)) return;
            var chosen = item.selected === "true" ? " primary" : "";
            var b = el("button", "card-btn" + chosen, subst(spec.label, lv));
            b.type = "button";
            b.dataset.action = spec.id;
            b.dataset.viewer = viewer;
            b.dataset.outTrackId = entry.outTrackId;
            b.dataset.loop = JSON.stringify(item);
            list.appendChild(b);
          });
        });
        if (list.childNodes.length) box.appendChild(list);
        return;
      }
      if (comp.component === "buttonGroup") {
        var btns = el("div", "card-btns");
        (comp.buttons || []).forEach(function (id) {
          var spec = (tpl.buttons || []).filter(function (b) { return b.id === id; })[0];
          if (!spec || !visible(spec.visible, values)) return;
          var b = el("button", "card-btn " + (spec.style || ""), spec.label);
          b.type = "button";
          b.dataset.action = spec.id;
          b.dataset.viewer = viewer;
          b.dataset.outTrackId = entry.outTrackId;
          b.dataset.inputKey = inputKey || "";
          btns.appendChild(b);
        });
        if (btns.childNodes.length) box.appendChild(btns);
        return;
      }
      if (!body) {
        body = el("div", "card-body");
        box.appendChild(body);
      }
      if (comp.component === "markdown") {
        var md = el("div", "md");
        md.innerHTML = markdown(subst(comp.text, values));
        body.appendChild(md);
      } else if (comp.component === "text") {
        var cls = "card-text" + (comp.style ? " " + comp.style : "");
        if (comp.text === "${holder_line}") cls += " holder";
        body.appendChild(el("div", cls, subst(comp.text, values)));
      } else if (comp.component === "input") {
        var inp = el("input", "card-input");
        inp.placeholder = comp.placeholder || "";
        inputKey = (conversation || "") + "|" + entry.outTrackId + "|" + (comp.bind || comp.id);
        inp.dataset.key = inputKey;
        inp.dataset.bind = comp.bind || comp.id;
        body.appendChild(inp);
      }
    });
    box.dataset.status = values.status || "";
    return box;
  }

  function clickCard(button) {
    var owner = findEntry(button.dataset.outTrackId, button.dataset.viewer);
    var tpl = owner ? templateOf(owner) : state.config.card_template;
    var spec = (tpl.buttons || []).filter(function (b) { return b.id === button.dataset.action; })[0];
    if (!spec) return;
    var cardEl = button.closest(".card");
    var values = {};
    var input = cardEl.querySelector("input.card-input");
    var card = findCard(button.dataset.outTrackId, button.dataset.viewer);
    if (card) values = vars(card, button.dataset.viewer);
    if (input) values[input.dataset.bind] = input.value;
    if (button.dataset.loop) values = withLoop(values, JSON.parse(button.dataset.loop));
    var params = {};
    Object.keys(spec.params || {}).forEach(function (k) {
      params[k] = subst(spec.params[k], values);
    });
    button.disabled = true;
    act(api("POST", "dingtalk/click", {
      user_id: button.dataset.viewer,
      out_track_id: button.dataset.outTrackId,
      params: params,
      action_id: spec.id,
    })).then(function () {
      if (input) {
        input.value = "";
        delete state.inputs[input.dataset.key];
      }
    }).catch(function () { button.disabled = false; });
  }

  function findEntry(outTrackId, viewer) {
    var last = state.last || {};
    var views = [last.group, last.me, last.staff, last.office];
    for (var i = 0; i < views.length; i++) {
      var msgs = (views[i] && views[i].messages) || [];
      for (var j = 0; j < msgs.length; j++) {
        if (msgs[j].kind === "card" && msgs[j].outTrackId === outTrackId) return msgs[j];
      }
    }
    return null;
  }

  function findCard(outTrackId, viewer) {
    var last = state.last || {};
    var views = [last.group, last.me, last.staff, last.office];
    for (var i = 0; i < views.length; i++) {
      var msgs = (views[i] && views[i].messages) || [];
      for (var j = 0; j < msgs.length; j++) {
        if (msgs[j].kind === "card" && msgs[j].outTrackId === outTrackId) return msgs[j].card;
      }
    }
    return null;
  }

  // ------------------------------------------------------------------ polling

  function schedulePoll(delay) {
    clearTimeout(state.pollTimer);
    state.pollTimer = setTimeout(poll, delay === undefined ? POLL_MS : delay);
  }

  function poll() {
    if (state.polling) { schedulePoll(); return; }
    state.polling = true;
    var q = ["phone=" + encodeURIComponent(state.visitor)];
    if (state.group) q.push("group=" + encodeURIComponent(state.group));
    if (state.me) q.push("me=" + encodeURIComponent(state.me));
    if (state.staff) q.push("staff=" + encodeURIComponent(state.staff));
    if (state.office) q.push("office=" + encodeURIComponent(state.office));
    api("GET", "poll?" + q.join("&")).then(function (data) {
      state.last = data;
      $("chip-poll").className = "chip ok";
      $("chip-poll").textContent = "实时";
      render(data);
    }).catch(function () {
      $("chip-poll").className = "chip bad";
      $("chip-poll").textContent = "连接中断，重试中";
    }).then(function () {
      state.polling = false;
      schedulePoll();
    });
  }

  function changed(name, value) {
    var json = JSON.stringify(value === undefined ? null : value) + "|" + viewerKey(name);
    if (state.rendered[name] === json) return false;
    state.rendered[name] = json;
    return true;
  }

  function viewerKey(name) {
    if (name === "group" || name === "me") return state.me;
    return name === "staff" || name === "office" ? state.staff : "";
  }

  var PANE_OF = { phone: "pane-wechat", group: "pane-group", me: "pane-me",
    office: "pane-staff", staff: "pane-staff" };

  function showPane(id) {
    $("panes").dataset.active = id;
    document.querySelectorAll(".pane").forEach(function (p) {
      p.classList.toggle("active", p.id === id);
    });
    document.querySelectorAll(".tab").forEach(function (t) {
      var on = t.dataset.pane === id;
      t.classList.toggle("active", on);
      if (on) t.classList.remove("unread");
    });
  }

  // a pane hidden behind a tab got something new: mark its tab
  function markUnread(name) {
    var id = PANE_OF[name];
    if (!id || $("panes").dataset.active === id) return;
    var tab = document.querySelector('.tab[data-pane="' + id + '"]');
    if (tab) tab.classList.add("unread");
  }

  function render(data) {
    renderClock(data.clock);
    // kept apart from state.rendered, which a change of identity clears; a view of another
    // chat (a new identity, group or visitor) is not "new" for that tab
    ["phone", "group", "me", "office", "staff"].forEach(function (name) {
      var asked = { phone: state.visitor, group: state.group, me: state.me,
        staff: state.staff, office: state.office };
      var now = { viewer: asked[name],
        json: JSON.stringify(data[name] === undefined ? null : data[name]) };
      var before = state.seen[name];
      if (before && before.viewer === now.viewer && before.json !== now.json) markUnread(name);
      state.seen[name] = now;
    });
    var status = data.status || {};
    var chip = $("chip-stream");
    if (status.error) {
      chip.className = "chip bad";
      chip.textContent = "模拟器不可用";
    } else if (status.stream_connections > 0) {
      chip.className = "chip ok";
      chip.textContent = "钉钉 Stream 已连接";
    } else {
      chip.className = "chip bad";
      chip.textContent = "钉钉 Stream 未连接";
    }
    if (changed("phone", data.phone)) {
      keepScroll($("phone-chat"), function () { renderPhone(data.phone); });
    }
    followAssignee(data.group);
    if (changed("group", data.group)) {
      keepScroll($("group-chat"), function () {
        renderDing("group-chat", data.group, state.me,
          "新诉求会以互动卡片的形式出现在这里，并 @ 值班代表。", { conversation: state.group });
      });
    }
    if (changed("me", data.me)) {
      keepScroll($("me-chat"), function () {
        renderDing("me-chat", data.me, state.me,
          "这是当前身份与连心机器人的单聊。分派给你的诉求卡片也会发到这里。", { conversation: "" });
      });
    }
    if (changed("office", data.office)) {
      keepScroll($("office-chat"), function () {
        renderDing("office-chat", data.office, state.staff,
          "超时未办的诉求会在这里预警。留一件不接单，再点两次上方的「快进一个工作日」试试。",
          { conversation: state.office, alerts: true });
      });
    }
    if (changed("staff", data.staff)) {
      keepScroll($("staff-chat"), function () {
        renderDing("staff-chat", data.staff, state.staff, "工作人员与机器人的单聊。",
          { conversation: "", alerts: true });
      });
    }
  }

  function renderClock(clock) {
    if (!clock) return;
    $("clock-label").textContent = clock.label;
    $("clock-lead").textContent = clock.offset_label;
  }

  // The person a new card @-mentions becomes the current identity, until one is picked by hand.
  function followAssignee(group) {
    if (state.meManual || !group || !group.messages) return;
    for (var i = group.messages.length - 1; i >= 0; i--) {
      var m = group.messages[i];
      if (m.kind !== "card") continue;
      var at = (m.at_user_ids || []).filter(function (u) {
        return people[u] && (group.members || []).indexOf(u) >= 0;
      });
      if (at.length && at[0] !== state.me) setMe(at[0], false);
      return;
    }
  }

  // ------------------------------------------------------------------ identities and groups

  function fillSelect(select, groups, selected) {
    select.innerHTML = "";
    groups.forEach(function (g) {
      if (!g.items.length) return;
      var og = el("optgroup");
      og.label = g.label;
      g.items.forEach(function (item) {
        var o = el("option", "", item.label);
        o.value = item.value;
        if (item.value === selected) o.selected = true;
        og.appendChild(o);
      });
      select.appendChild(og);
    });
  }

  function setMe(userId, manual) {
    state.me = userId;
    if (manual !== undefined) state.meManual = manual;
    $("me-select").value = userId;
    var p = people[userId];
    $("me-name").textContent = p ? "（" + p.name + "）" : "";
    $("me-hint").textContent = state.meManual ? "" : "自动跟随卡片 @ 的人";
    state.rendered = {};
  }

  function setGroup(conversationId) {
    state.group = conversationId;
    $("group-select").value = conversationId;
    state.rendered.group = null;
    var g = state.config.groups.filter(function (x) { return x.id === conversationId; })[0];
    if (g && g.kind === "department") {
      // only the department's liaison is in its group
      var liaison = state.config.people.filter(function (p) { return p.group === g.id; })[0];
      if (liaison) setMe(liaison.user_id);
    } else if (!state.meManual) {
      var first = g && g.station ? state.config.people.filter(function (p) {
        return p.role === "deputy" && p.stations.indexOf(g.station) >= 0;
      })[0] : null;
      if (first) setMe(first.user_id);
    }
  }

  function setStaff(userId) {
    state.staff = userId;
    $("staff-select").value = userId;
    var p = people[userId];
    $("staff-name").textContent = p ? "（" + p.name + "）" : "";
    state.rendered.staff = null;
    state.rendered.office = null;
  }

  function setupSelects(cfg) {
    cfg.people.forEach(function (p) { people[p.user_id] = p; });
    var stationGroups = cfg.groups.filter(function (g) { return g.kind === "station"; });
    var deptGroups = cfg.groups.filter(function (g) { return g.kind === "department"; });
    var officeGroups = cfg.groups.filter(function (g) { return g.kind === "office"; });
    var toItem = function (g) { return { value: g.id, label: g.title }; };
    fillSelect($("group-select"), [
      { label: "联络站群", items: stationGroups.map(toItem) },
      { label: "部门群", items: deptGroups.map(toItem) },
    ]);
    var deputies = cfg.people.filter(function (p) { return p.role === "deputy"; });
    var staff = cfg.people.filter(function (p) { return p.role === "staff"; });
    var personItem = function (p) { return { value: p.user_id, label: p.label }; };
    var liaisons = cfg.people.filter(function (p) { return p.role === "department"; });
    fillSelect($("me-select"), [
      { label: "代表", items: deputies.map(personItem) },
      { label: "工作人员", items: staff.map(personItem) },
      { label: "部门联络员（在部门群里答复转办件）", items: liaisons.map(personItem) },
    ]);
    fillSelect($("staff-select"), [{ label: "工作人员", items: staff.map(personItem) }]);
    if (officeGroups.length) {
      state.office = officeGroups[0].id;
      $("office-title").textContent = officeGroups[0].title;
    }
    if (staff.length) setStaff(staff[0].user_id);
    if (stationGroups.length) setGroup(stationGroups[0].id);
    else if (deputies.length) setMe(deputies[0].user_id);
  }

  // ------------------------------------------------------------------ the QR picker and places

  function buildPicker(cfg) {
    var list = $("qr-list");
    list.innerHTML = "";
    cfg.stations.forEach(function (st) {
      st.scenes.forEach(function (sc) {
        var b = el("button", "qr-card");
        b.type = "button";
        b.dataset.url = sc.url;
        b.dataset.station = st.code;
        b.dataset.scene = sc.scene;
        var label = sc.plate ? "门牌码 " + sc.plate : st.name;
        b.dataset.label = "扫描了「" + label + "」的二维码";
        var img = el("img");
        img.src = sc.qr;
        img.alt = "二维码";
        b.appendChild(img);
        var txt = el("div");
        var t = el("div", "t");
        t.appendChild(el("span", "qr-kind" + (sc.plate ? " plate" : ""), sc.plate ? "门牌码" : "联络站"));
        t.appendChild(document.createTextNode(sc.plate || st.name));
        txt.appendChild(t);
        txt.appendChild(el("div", "d", sc.plate ? st.name : st.address));
        b.appendChild(txt);
        list.appendChild(b);
      });
    });
    var plain = el("button", "qr-card");
    plain.type = "button";
    plain.dataset.url = "";
    plain.dataset.label = "从分享链接打开了连心客服（不带场景）";
    var txt = el("div");
    txt.appendChild(el("div", "t", "不扫码，直接打开客服"));
    txt.appendChild(el("div", "d", "没有场景值：机器人会请你选择联络站，或发送位置匹配最近的联络站"));
    plain.appendChild(txt);
    list.appendChild(plain);

    var places = $("place-list");
    places.innerHTML = "";
    cfg.places.forEach(function (p) {
      var b = el("button", "qr-card");
      b.type = "button";
      b.dataset.place = JSON.stringify(p);
      var t = el("div");
      t.appendChild(el("div", "t pin", p.name));
      t.appendChild(el("div", "d", p.address + "（" + p.lat + ", " + p.lng + "）"));
      b.appendChild(t);
      places.appendChild(b);
    });
  }

  // a station picked from the bot's menu: show that station's group
  function followStation(name) {
    var st = state.config.stations.filter(function (x) { return x.name === name; })[0];
    if (st && st.group) setGroup(st.group);
  }

  function scan(button) {
    $("qr-picker").classList.add("hidden");
    var station = button.dataset.station;
    act(api("POST", "wechat/enter", {
      visitor: state.visitor, url: button.dataset.url, label: button.dataset.label,
    })).then(function () {
      if (!station) return;
      var g = state.config.groups.filter(function (x) { return x.station === station; })[0];
      if (g) setGroup(g.id);
    }).catch(noop);
  }

  // ------------------------------------------------------------------ wiring

  function sendText(form, input, send) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var text = input.value.trim();
      if (!text) return;
      var button = form.querySelector("button[type=submit]");
      button.disabled = true;
      act(send(text)).then(function () { input.value = ""; }).catch(function () { /* toasted */ })
        .then(function () { button.disabled = false; input.focus(); });
    });
  }

  function setVisitor(visitor) {
    state.visitor = visitor;
    $("visitor-label").textContent = "微信用户 · 尾号 " + visitor.slice(-4);
    state.rendered.phone = null;
  }

  function sendPhoto(dataUri) {
    return act(api("POST", "wechat/image", { visitor: state.visitor, data: dataUri || "" }))
      .catch(noop);
  }

  // shrink a picked file so it stays a phone-sized photo
  function shrink(file) {
    return new Promise(function (resolve, reject) {
      var reader = new FileReader();
      reader.onerror = function () { reject(new Error("读取图片失败")); };
      reader.onload = function () {
        var img = new Image();
        img.onerror = function () { reject(new Error("不是可识别的图片")); };
        img.onload = function () {
          var scale = Math.min(1, 1024 / Math.max(img.width, img.height));
          var canvas = document.createElement("canvas");
          canvas.width = Math.round(img.width * scale);
          canvas.height = Math.round(img.height * scale);
          canvas.getContext("2d").drawImage(img, 0, 0, canvas.width, canvas.height);
          resolve(canvas.toDataURL("image/jpeg", 0.8));
        };
        img.src = reader.result;
      };
      reader.readAsDataURL(file);
    });
  }

  function wire() {
    $("btn-scan").addEventListener("click", function () {
      $("place-picker").classList.add("hidden");
      $("qr-picker").classList.toggle("hidden");
    });
    $("qr-close").addEventListener("click", function () { $("qr-picker").classList.add("hidden"); });
    $("qr-list").addEventListener("click", function (ev) {
      var b = ev.target.closest(".qr-card");
      if (b) scan(b);
    });
    $("btn-location").addEventListener("click", function () {
      $("qr-picker").classList.add("hidden");
      $("place-picker").classList.toggle("hidden");
    });
    $("place-close").addEventListener("click", function () {
      $("place-picker").classList.add("hidden");
    });
    $("place-list").addEventListener("click", function (ev) {
      var b = ev.target.closest(".qr-card");
      if (!b) return;
      $("place-picker").classList.add("hidden");
      var p = JSON.parse(b.dataset.place);
      act(api("POST", "wechat/location", {
        visitor: state.visitor, lat: p.lat, lng: p.lng, name: p.name, address: p.address,
      })).catch(noop);
    });
    $("btn-photo").addEventListener("click", function () { sendPhoto(""); });
    $("photo-file").addEventListener("change", function (ev) {
      var file = ev.target.files && ev.target.files[0];
      ev.target.value = "";
      if (!file) return;
      shrink(file).then(sendPhoto).catch(function (err) { toast(err.message, true); });
    });
    $("btn-new-visitor").addEventListener("click", function () {
      setVisitor(randomVisitor());
      toast("已换成一位新的微信用户，请先扫码");
      schedulePoll(0);
    });
    $("phone-chat").addEventListener("click", function (ev) {
      var item = ev.target.closest(".menu-item");
      if (!item) return;
      act(api("POST", "wechat/menu", { visitor: state.visitor, menu_id: item.dataset.menuId }))
        .then(function () { followStation(item.textContent); }).catch(noop);
    });
    sendText($("wx-form"), $("wx-input"), function (text) {
      return api("POST", "wechat/text", { visitor: state.visitor, text: text });
    });
    sendText($("group-form"), $("group-input"), function (text) {
      return api("POST", "dingtalk/group-text",
        { user_id: state.me, conversation_id: state.group, text: text });
    });
    sendText($("me-form"), $("me-input"), function (text) {
      return api("POST", "dingtalk/private-text", { user_id: state.me, text: text });
    });
    sendText($("staff-form"), $("staff-input"), function (text) {
      return api("POST", "dingtalk/private-text", { user_id: state.staff, text: text });
    });
    document.querySelector(".quick").addEventListener("click", function (ev) {
      var b = ev.target.closest("[data-send]");
      if (!b) return;
      act(api("POST", "dingtalk/private-text", { user_id: state.me, text: b.dataset.send }))
        .catch(noop);
    });
    $("group-select").addEventListener("change", function (ev) {
      setGroup(ev.target.value);
      schedulePoll(0);
    });
    $("me-select").addEventListener("change", function (ev) {
      setMe(ev.target.value, true);
      schedulePoll(0);
    });
    $("staff-select").addEventListener("change", function (ev) {
      setStaff(ev.target.value);
      schedulePoll(0);
    });
    document.querySelector(".panes").addEventListener("click", function (ev) {
      var cardButton = ev.target.closest(".card-btn");
      if (cardButton) { clickCard(cardButton); return; }
      var dtmd = ev.target.closest("button.dtmd");
      if (dtmd) {
        // what DingTalk's client does for a dtmd:// link: send the text as the clicking user
        var cid = dtmd.dataset.conversation;
        var inStaff = !!dtmd.closest("#pane-staff");
        var user = inStaff ? state.staff : state.me;
        var req = cid ? api("POST", "dingtalk/group-text",
          { user_id: user, conversation_id: cid, text: dtmd.dataset.content })
          : api("POST", "dingtalk/private-text", { user_id: user, text: dtmd.dataset.content });
        act(req).catch(noop);
      }
    });
    $("tabs").addEventListener("click", function (ev) {
      var tab = ev.target.closest(".tab");
      if (tab) showPane(tab.dataset.pane);
    });
    $("btn-reset").addEventListener("click", function () {
      if (!window.confirm("重置沙盒：删除所有诉求和聊天记录，恢复示例县，服务时钟回到现在。继续吗？")) {
        return;
      }
      var b = $("btn-reset");
      b.disabled = true;
      act(api("POST", "reset")).then(function (data) {
        renderClock(data.clock);
        state.rendered = {};
        state.seen = {};
        state.meManual = false;
        document.querySelectorAll(".tab.unread").forEach(function (t) {
          t.classList.remove("unread");
        });
        setVisitor(randomVisitor()); // a new WeChat user: the old chat belongs to the old demo
        showPane("pane-wechat");
        return api("GET", "config").then(function (cfg) {
          state.config = cfg;
          setupSelects(cfg);
          buildPicker(cfg);
          toast("沙盒已重置：示例县已恢复，服务时钟回到现在。请先扫码。");
        });
      }).catch(noop).then(function () { b.disabled = false; schedulePoll(0); });
    });
    $("btn-ff").addEventListener("click", function () {
      var b = $("btn-ff");
      b.disabled = true;
      act(api("POST", "fast-forward")).then(function (clock) {
        renderClock(clock);
        toast("服务时钟已快进到 " + clock.label + "，正在检查超时件…");
      }).catch(function () { /* toasted */ }).then(function () { b.disabled = false; });
    });
  }

  function load() {
    api("GET", "config").then(function (cfg) {
      state.config = cfg;
      setVisitor(cfg.visitor);
      setupSelects(cfg);
      buildPicker(cfg);
      renderClock(cfg.clock);
      if (!cfg.available) toast("模拟器没有运行：请用 lianxin run（或 make run）启动沙盒。", true);
      poll();
    }).catch(function (err) {
      toast("加载失败：" + err.message, true);
      setTimeout(load, 3000);
    });
  }

  function start() {
    wire();
    load();
  }

  document.addEventListener("DOMContentLoaded", start);
})();

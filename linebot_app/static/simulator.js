// Development LINE simulator: acts as one LINE user. Webhook bodies are signed by the
// server (/dev/line/events) and posted by this page to the real /line/webhook; what the bot
// sends arrives through the outbox worker at the built-in fake Messaging API and is polled.
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("simulator-config").textContent);
  var USER_KEY = "authencode.devLineUserId";
  var POLL_MS = 1000;
  var chat = document.getElementById("chat");
  var quick = document.getElementById("quick-replies");
  var statusLine = document.getElementById("status");
  var menuBox = document.getElementById("richmenu");
  var lastSeq = 0;
  var menuId = null;
  var deploying = false;

  function newUserId() {
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return "U" + Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  var userId = localStorage.getItem(USER_KEY);
  if (!/^U[0-9a-f]{32}$/.test(userId || "")) {
    userId = newUserId();
    localStorage.setItem(USER_KEY, userId);
  }
  document.getElementById("user-id").textContent = userId;

  // Thai texts cut into words by the server (authencode.thaiwords): text -> [[piece, isWord]].
  // A word stays on one line; lines break between words (<wbr>), not where the browser's
  // own dictionary would split "โรง|พยาบาล".
  var thaiWords = {};

  function appendText(node, text, links) {
    (thaiWords[text] || [[text, false]]).forEach(function (pair) {
      if (pair[1]) {
        var word = document.createElement("span");
        word.className = "w";
        word.textContent = pair[0];
        node.appendChild(word);
        node.appendChild(document.createElement("wbr"));
      } else if (links) {
        linkify(node, pair[0]);
      } else {
        node.appendChild(document.createTextNode(pair[0]));
      }
    });
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) appendText(node, String(text), false);
    return node;
  }

  function setStatus(text) { statusLine.textContent = text || ""; }

  function postJson(url, body) {
    return fetch(url, {
      method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().then(function (data) { return {status: response.status, data: data}; });
    });
  }

  // --- sending events ---------------------------------------------------------------------
  function sendEvent(event) {
    event.user_id = userId;
    quick.textContent = "";
    return postJson(config.eventsUrl, event).then(function (signed) {
      if (signed.status !== 200) throw new Error(signed.data.error.message);
      return fetch(config.webhookUrl, {
        method: "POST",
        headers: {"Content-Type": "application/json", "X-Line-Signature": signed.data.signature},
        body: signed.data.body
      });
    }).then(function (response) {
      setStatus("webhook ตอบ HTTP " + response.status + (response.ok ? " · รอคำตอบจากบอท…" : ""));
      poll();
    }).catch(function (error) { setStatus("ส่งไม่สำเร็จ: " + error.message); });
  }

  function sendText(text) { return sendEvent({type: "message", text: text}); }

  function localLink(uri) {
    // Local LIFF pages act as the same simulated user.
    try {
      var url = new URL(uri, location.href);
      if (url.origin === location.origin) url.searchParams.set("dev_user", userId);
      return url.toString();
    } catch (e) { return uri; }
  }

  function runAction(action) {
    if (!action) return;
    switch (action.type) {
      case "message":
        sendText(action.text || action.label);
        break;
      case "postback":
        sendEvent({type: "postback", data: action.data,
                   display_text: action.displayText || action.text || null});
        break;
      case "uri":
        if (/^tel:/.test(action.uri)) {
          addRow("system", "โทรออก " + action.uri.slice(4) + " (จำลอง: ไม่ได้โทรจริง)");
        } else if (/^https:\/\/line\.me\/R\/nv\/QRCodeReader/.test(action.uri)) {
          // LINE's QR reader, simulated: the scanned clinic link is sent to the chat.
          var scanned = window.prompt("ตัวสแกน QR (จำลอง): วางลิงก์จาก QR Code ของหน่วยบริการ");
          if (scanned) sendText(scanned);
        } else {
          window.open(localLink(action.uri), "_blank", "noopener");
        }
        break;
      case "datetimepicker":
        sendEvent({type: "postback", data: action.data,
                   params: {date: new Date().toISOString().slice(0, 10)}});
        break;
      case "richmenuswitch":
        postJson(config.switchUrl, {user_id: userId, alias: action.richMenuAliasId})
          .then(function (result) {
            sendEvent({type: "postback", data: action.data, params: result.data});
          });
        break;
      default:
        setStatus("ตัวจำลองยังไม่รองรับ action แบบ " + action.type);
    }
  }

  function actionButton(action, className) {
    var button = el("button", className, action.label || action.displayText || action.text || "เปิด");
    button.type = "button";
    button.addEventListener("click", function () { runAction(action); });
    return button;
  }

  // --- rendering messages -----------------------------------------------------------------
  function addRow(from, text) {
    var row = el("div", "row " + from);
    var bubble = el("div", "text");
    appendText(bubble, String(text), true);
    row.appendChild(bubble);
    chat.appendChild(row);
    chat.scrollTop = chat.scrollHeight;
    return row;
  }

  function linkify(node, text) {
    String(text).split(/(https?:\/\/\S+)/).forEach(function (part, i) {
      if (i % 2 === 1) {
        var a = document.createElement("a");
        a.textContent = part;
        a.href = localLink(part);
        a.target = "_blank";
        a.rel = "noopener";
        node.appendChild(a);
      } else if (part) {
        node.appendChild(document.createTextNode(part));
      }
    });
  }

  function renderTemplate(t) {
    var box = el("div", "template");
    if (t.title) box.appendChild(el("div", "tpl-title", t.title));
    box.appendChild(el("div", "tpl-text", t.text));
    var actions = el("div", "tpl-actions" + (t.type === "confirm" ? "" : " vertical"));
    (t.actions || []).forEach(function (a) { actions.appendChild(actionButton(a)); });
    box.appendChild(actions);
    return box;
  }

  function flexNode(c) {
    var node;
    switch (c.type) {
      case "box":
        node = el("div", "fx-box fx-" + (c.layout || "vertical"));
        if (c.spacing) node.style.gap = {xs: "2px", sm: "4px", md: "8px", lg: "12px", xl: "16px"}[c.spacing] || "4px";
        (c.contents || []).forEach(function (child) { node.appendChild(flexNode(child)); });
        if (c.action) node.addEventListener("click", function () { runAction(c.action); });
        break;
      case "text":
        node = el("div", "fx-text fx-" + (c.size || "md") + (c.weight === "bold" ? " fx-bold" : ""),
                  c.text || (c.contents || []).map(function (s) { return s.text; }).join(""));
        if (c.color) node.style.color = c.color;
        if (c.decoration === "line-through") node.style.textDecoration = "line-through";
        if (c.align) node.style.textAlign = c.align;
        if (c.wrap !== true) node.style.whiteSpace = "nowrap";
        break;
      case "separator":
        node = el("hr", "fx-sep");
        break;
      case "button":
        node = actionButton(c.action, "fx-button");
        break;
      case "image":
        node = el("img", "fx-image");
        node.src = c.url;
        node.alt = "";
        break;
      default:
        node = el("div");  // filler, spacer and the like take no room here
    }
    if (typeof c.flex === "number") node.style.flex = String(c.flex);
    return node;
  }

  function renderBubble(b) {
    var bubble = el("div", "bubble");
    ["header", "hero", "body", "footer"].forEach(function (part) {
      if (!b[part]) return;
      var section = el("div", "section");
      section.appendChild(flexNode(b[part]));
      bubble.appendChild(section);
    });
    return bubble;
  }

  function renderFlex(message) {
    var contents = message.contents;
    if (contents.type === "carousel") {
      var carousel = el("div", "carousel");
      carousel.setAttribute("aria-label", message.altText);
      contents.contents.forEach(function (b) { carousel.appendChild(renderBubble(b)); });
      return carousel;
    }
    return renderBubble(contents);
  }

  function renderMessage(m) {
    if (m.type === "text") return addRow("bot", m.text);
    var row = el("div", "row bot");
    if (m.type === "template") row.appendChild(renderTemplate(m.template));
    else if (m.type === "flex") row.appendChild(renderFlex(m));
    else if (m.type === "image") {
      var img = el("img", "fx-image");
      img.src = m.previewImageUrl || m.originalContentUrl;
      row.appendChild(img);
    } else row.appendChild(el("div", "text", "[ข้อความแบบ " + m.type + "]"));
    chat.appendChild(row);
    chat.scrollTop = chat.scrollHeight;
    return row;
  }

  function showQuickReplies(items) {
    quick.textContent = "";
    items.forEach(function (item) { quick.appendChild(actionButton(item.action)); });
  }

  function renderItem(item) {
    if (item.from !== "bot") {
      addRow(item.from, item.text);
      return;
    }
    setStatus("");
    var replies = null;
    item.messages.forEach(function (m) {
      renderMessage(m);
      if (m.quickReply) replies = m.quickReply.items;
    });
    if (replies) showQuickReplies(replies);
  }

  // --- rich menu --------------------------------------------------------------------------
  function renderMenu(menu) {
    if ((menu && menu.id) === menuId) return;
    menuId = menu ? menu.id : null;
    menuBox.textContent = "";
    if (!menu) {
      menuBox.appendChild(el("p", "empty", "ยังไม่มี Rich menu"));
      return;
    }
    document.getElementById("menu-toggle").textContent = menu.chatBarText + " ▾";
    var img = el("img");
    img.src = menu.image;
    img.alt = "Rich menu";
    menuBox.appendChild(img);
    menuBox.dataset.menuId = menu.id;
    menu.areas.forEach(function (area) {
      var b = area.bounds;
      var button = actionButton(area.action, "area");
      button.setAttribute("aria-label", area.action.label || area.action.data || "เมนู");
      button.style.left = (100 * b.x / menu.size.width) + "%";
      button.style.top = (100 * b.y / menu.size.height) + "%";
      button.style.width = (100 * b.width / menu.size.width) + "%";
      button.style.height = (100 * b.height / menu.size.height) + "%";
      menuBox.appendChild(button);
    });
  }

  function deployMenus() {
    if (deploying) return;
    deploying = true;
    setStatus("กำลังสร้าง Rich menu (authencode line richmenu deploy)…");
    postJson(config.deployUrl, {}).then(function (result) {
      setStatus(result.status === 200 ? "" : "สร้าง Rich menu ไม่สำเร็จ: " + result.data.error.message);
      poll();
    });
  }

  // --- polling ----------------------------------------------------------------------------
  var polling = false;
  function poll() {
    if (polling) return;
    polling = true;
    fetch(config.feedUrl + "?user_id=" + userId + "&after=" + lastSeq)
      .then(function (response) { return response.json(); })
      .then(function (data) {
        thaiWords = data.words || {};
        data.items.forEach(function (item) {
          if (item.seq <= lastSeq) return;
          lastSeq = item.seq;
          renderItem(item);
        });
        renderMenu(data.menu);
        if (!data.deployed && config.simulatorApi) deployMenus();
      })
      .catch(function () { setStatus("ติดต่อเซิร์ฟเวอร์ไม่ได้"); })
      .then(function () { polling = false; });
  }

  document.getElementById("composer").addEventListener("submit", function (e) {
    e.preventDefault();
    var input = document.getElementById("text");
    if (!input.value.trim()) return;
    sendText(input.value);
    input.value = "";
  });
  document.getElementById("follow").addEventListener("click", function () {
    sendEvent({type: "follow"});
  });
  document.getElementById("unfollow").addEventListener("click", function () {
    sendEvent({type: "unfollow"});
  });
  document.getElementById("new-user").addEventListener("click", function () {
    localStorage.setItem(USER_KEY, newUserId());
    location.reload();
  });
  document.getElementById("menu-toggle").addEventListener("click", function () {
    menuBox.hidden = !menuBox.hidden;
    this.setAttribute("aria-expanded", String(!menuBox.hidden));
  });

  poll();
  setInterval(poll, POLL_MS);
})();

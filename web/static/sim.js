// 邻里通 /sim: speak to the real bot as a resident or a staff member.
// Every text from the server is put in with textContent, never as HTML.
(function () {
  "use strict";

  var POLL_MS = 1500;
  var words = JSON.parse(document.getElementById("sim-words").textContent);
  var who = document.getElementById("sim-who");
  var log = document.getElementById("sim-log");
  var pushes = document.getElementById("sim-pushes");
  var groups = document.getElementById("sim-groups");
  var form = document.getElementById("sim-form");
  var input = document.getElementById("sim-text");
  var send = document.getElementById("sim-send");
  var error = document.getElementById("sim-error");

  var state = { as: null, cursor: { in: null, out: null }, seenIn: {}, seenOut: {}, generation: 0, timer: null };

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  function randomHex(bytes) {
    var values = new Uint8Array(bytes);
    window.crypto.getRandomValues(values);
    return Array.prototype.map.call(values, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function bubble(list, side, text, meta) {
    var item = el("li", "sim-msg sim-" + side);
    if (meta) { item.appendChild(el("span", "sim-meta", meta)); }
    item.appendChild(el("div", "sim-text", text));
    list.appendChild(item);
    list.scrollTop = list.scrollHeight;
    return item;
  }

  // WeCom markdown (cards): **bold** and "> " quote lines, built as elements, never parsed as HTML.
  function markdown(text) {
    var box = el("div", "sim-text");
    text.split("\n").forEach(function (line) {
      var quote = line.indexOf("> ") === 0;
      var row = el("div", quote ? "sim-quote" : null);
      (quote ? line.slice(2) : line).split(/\*\*(.+?)\*\*/).forEach(function (part, index) {
        row.appendChild(index % 2 ? el("strong", null, part) : document.createTextNode(part));
      });
      box.appendChild(row);
    });
    return box;
  }

  function card(list, row, meta) {
    var item = el("li", "sim-msg sim-bot");
    item.dataset.outbox = row.id;
    item.appendChild(el("span", "sim-meta", meta));
    item.appendChild(row.markdown ? markdown(row.text) : el("div", "sim-text", row.text));
    list.appendChild(item);
    list.scrollTop = list.scrollHeight;
  }

  function showError(text) { error.textContent = text || ""; }

  function residentLabel(person) {
    var id = person.id.slice("resident:".length);
    if (id.indexOf("sim-") === 0) { return words.fresh + " " + id.slice(4, 10); }
    var role = words.roles[person.role] || "";
    return (person.home || words.noHome) + (role ? " " + role : "");
  }

  function option(group, value, label) {
    var opt = el("option", null, label);
    opt.value = value;
    group.appendChild(opt);
    return opt;
  }

  function fillPeople(data) {
    who.textContent = "";
    var residents = el("optgroup");
    residents.label = words.resident;
    data.residents.forEach(function (p) { option(residents, p.id, residentLabel(p)); });
    var staff = el("optgroup");
    staff.label = words.staff;
    data.staff.forEach(function (m) {
      option(staff, m.id, m.name + " · " + (words.roles[m.role] || m.role));
    });
    who.appendChild(residents);
    who.appendChild(staff);
  }

  function request(method, url, body) {
    var init = { method: method, headers: { "Accept": "application/json" }, credentials: "same-origin" };
    if (body) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(url, init).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) { throw new Error(data.error || words.failed); }
        return data;
      });
    });
  }

  function renderMessage(m) {
    if (m.id !== null && state.seenIn[m.id]) { return; }
    if (m.id !== null) { state.seenIn[m.id] = true; }
    if (m.kind === "subscribe") {
      bubble(log, "me", words.followed, m.at);
    } else if (m.text) {
      bubble(log, "me", m.text, words.me + " · " + m.at);
    }
    if (m.reply) {
      bubble(log, "bot", m.reply, words.bot);
    } else if (m.pushed) {
      bubble(log, "note", words.later);
    }
  }

  function renderOutgoing(row) {
    if (state.seenOut[row.id]) { return; }
    state.seenOut[row.id] = true;
    if (row.pane === "group") {
      card(groups, row, (words.groups[row.to] || row.to) + " · " + row.at);
    } else {
      card(pushes, row, row.at);
    }
  }

  function poll() {
    if (!state.as) { return; }
    var generation = state.generation;
    var query = "as=" + encodeURIComponent(state.as);
    if (state.cursor.in !== null) { query += "&in=" + state.cursor.in; }
    if (state.cursor.out !== null) { query += "&out=" + state.cursor.out; }
    request("GET", "/sim/api/conversation?" + query).then(function (data) {
      if (generation !== state.generation) { return; }
      data.messages.forEach(renderMessage);
      data.outbox.forEach(renderOutgoing);
      state.cursor = data.cursor;
      showError("");
    }).catch(function (err) {
      if (generation === state.generation) { showError(err.message || words.offline); }
    }).then(function () {
      if (generation === state.generation) { state.timer = window.setTimeout(poll, POLL_MS); }
    });
  }

  function choose(value) {
    state.generation += 1;
    window.clearTimeout(state.timer);
    state.as = value;
    state.cursor = { in: null, out: null };
    state.seenIn = {};
    state.seenOut = {};
    log.textContent = "";
    pushes.textContent = "";
    groups.textContent = "";
    showError("");
    poll();
  }

  function say(body) {
    body.as = state.as;
    body.id = randomHex(12);
    send.disabled = true;
    var generation = state.generation;
    return request("POST", "/sim/api/messages", body).then(function (message) {
      if (generation === state.generation) { renderMessage(message); }
      showError("");
    }).catch(function (err) {
      showError(err.message || words.offline);
    }).then(function () {
      send.disabled = false;
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value;
    if (!text.trim() || !state.as) { return; }
    input.value = "";
    say({ text: text });
    input.focus();
  });

  who.addEventListener("change", function () { choose(who.value); });

  // A new resident joins the residents' list, so the button waits until the list is there.
  var fresh = document.getElementById("sim-fresh");
  fresh.disabled = true;
  fresh.addEventListener("click", function () {
    var id = "resident:sim-" + randomHex(6);
    var group = who.querySelector("optgroup");
    var opt = option(group, id, words.fresh + " " + id.slice(13, 19));
    group.insertBefore(opt, group.firstChild);
    who.value = id;
    choose(id);
    say({ event: "subscribe" });
  });

  request("GET", "/sim/api/people").then(function (data) {
    fillPeople(data);
    fresh.disabled = false;
    if (who.value) { choose(who.value); }
  }).catch(function (err) { showError(err.message || words.offline); });
}());

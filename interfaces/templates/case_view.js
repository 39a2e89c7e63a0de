// The case page: asks for an API key (kept in sessionStorage, sent only as a Bearer header),
// loads /v1/cases.html for the scope and moment in the address bar, and shows that document.
// The document holds no script; it is parsed inert (DOMParser) and its <main> and style adopted.
"use strict";
(function () {
  const KEY = "ledgerdesk.case.key";
  const $ = (id) => document.getElementById(id);
  const status = (text, error) => { $("status").textContent = text; $("status").className = error ? "error" : ""; };

  function offsetOfBrowser() {
    const minutes = -new Date().getTimezoneOffset();
    const sign = minutes >= 0 ? "+" : "-";
    const abs = Math.abs(minutes);
    return sign + String(Math.floor(abs / 60)).padStart(2, "0") + ":" + String(abs % 60).padStart(2, "0");
  }

  function fromAddress() {
    const params = new URLSearchParams(location.search);
    for (const kind of ["order_id", "customer_id", "ticket_id"]) {
      if (params.get(kind)) { $("scope-kind").value = kind; $("scope-value").value = params.get(kind); }
    }
    const asOf = params.get("as_of");
    const match = asOf && asOf.match(/^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?)(?:\.\d+)?(Z|[+-]\d{2}:\d{2})$/);
    if (match) { $("as-of").value = match[1]; $("as-of-offset").value = match[2] === "Z" ? "+00:00" : match[2]; }
    else { $("as-of-offset").value = offsetOfBrowser(); }
    $("lang").value = params.get("lang") === "zh" ? "zh" : "en";
  }

  function query() {
    const params = new URLSearchParams();
    params.set($("scope-kind").value, $("scope-value").value.trim());
    const local = $("as-of").value;
    if (local) params.set("as_of", (local.length === 16 ? local + ":00" : local) + ($("as-of-offset").value || offsetOfBrowser()));
    params.set("lang", $("lang").value);
    return params;
  }

  function askForKey(message) {
    $("key-dialog").hidden = false;
    $("api-key").focus();
    if (message) status(message, true);
  }

  async function load() {
    const key = sessionStorage.getItem(KEY);
    if (!key) { askForKey("An API key is needed to read cases. / 需要 API 密钥。"); return; }
    if (!$("scope-value").value.trim()) { status("Give an order, customer or ticket id. / 请输入编号。", true); return; }
    const params = query();
    history.replaceState(null, "", location.pathname + "?" + params.toString() + location.hash);
    status("Loading… / 载入中…");
    let response;
    try {
      response = await fetch("/v1/cases.html?" + params.toString(), { headers: { Authorization: "Bearer " + key }, cache: "no-store" });
    } catch (error) { status("The server did not answer: " + error, true); return; }
    if (response.status === 401 || response.status === 403) {
      sessionStorage.removeItem(KEY);
      const problem = await response.json().catch(() => ({}));
      askForKey((problem.detail || "This key may not read cases.") + " / 此密钥无权查看案卷。");
      return;
    }
    if (!response.ok) {
      const problem = await response.json().catch(() => ({}));
      status((problem.field ? problem.field + ": " : "") + (problem.detail || response.statusText), true);
      $("case-container").replaceChildren();
      return;
    }
    const doc = new DOMParser().parseFromString(await response.text(), "text/html");
    const main = doc.querySelector("main.case");
    let style = document.getElementById("case-style");
    if (!style) { style = document.createElement("style"); style.id = "case-style"; document.head.appendChild(style); }
    style.textContent = doc.querySelector("style") ? doc.querySelector("style").textContent : "";
    $("case-container").replaceChildren(document.adoptNode(main));
    document.title = doc.title;
    status("Loaded: " + main.dataset.entries + " entries as of " + main.dataset.asOf + " / 已载入");
    if (location.hash) { const target = document.getElementById(location.hash.slice(1)); if (target) target.scrollIntoView(); }
  }

  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY, $("api-key").value.trim());
    $("api-key").value = "";
    $("key-dialog").hidden = true;
    load();
  });
  $("case-form").addEventListener("submit", (event) => { event.preventDefault(); load(); });
  $("now").addEventListener("click", () => { $("as-of").value = ""; load(); });
  $("forget-key").addEventListener("click", () => { sessionStorage.removeItem(KEY); askForKey(""); });
  fromAddress();
  if ($("scope-value").value) load(); else if (!sessionStorage.getItem(KEY)) askForKey("");
})();

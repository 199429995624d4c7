/* The health office's dashboard: region summary, stale reporters, history, alerts, exports.
 * The monitor key stays in sessionStorage (this tab only) and goes out as a Bearer token. */
"use strict";

(function () {
  const B = window.Bedsvc;
  const { t, el } = B;
  const KEY = "bedsvc.monitorKey";
  const RANGES = { "24h": [86400000, "30m"], "7d": [7 * 86400000, "2h"], "30d": [30 * 86400000, "6h"] };
  const REFRESH_MS = 30000;

  const state = { key: sessionStorage.getItem(KEY), bedClasses: new Map(), summary: null, stale: null, alerts: [], regions: new Set(), regionNames: new Map(), timer: null };
  const $ = (id) => document.getElementById(id);

  class AuthError extends Error {}

  async function api(path, params) {
    const url = new URL(`/api/v1/monitor/${path}`, location.href);
    for (const [name, value] of Object.entries(params || {})) if (value) url.searchParams.set(name, value);
    const response = await fetch(url, { headers: { Authorization: `Bearer ${state.key}` }, cache: "no-store" });
    if (response.status === 401 || response.status === 403) throw new AuthError(String(response.status));
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
    return response;
  }

  const region = () => $("region").value;

  // ---- sign in / out ------------------------------------------------------------------

  function showLogin(message) {
    clearInterval(state.timer);
    $("board").hidden = true;
    $("sign-out").hidden = true;
    $("login").hidden = false;
    $("login-error").hidden = !message;
    $("login-error").textContent = message || "";
    $("api-key").focus();
  }

  function signOut(message) {
    state.key = null;
    sessionStorage.removeItem(KEY);
    showLogin(message);
  }

  async function signIn(event) {
    event.preventDefault();
    state.key = $("api-key").value.trim();
    if (!state.key) return;
    try {
      await api("summary");
    } catch (error) {
      signOut(error instanceof AuthError ? t("badKey") : error.message);
      return;
    }
    sessionStorage.setItem(KEY, state.key);
    $("api-key").value = "";
    await openBoard();
  }

  async function openBoard() {
    $("login").hidden = true;
    $("board").hidden = false;
    $("sign-out").hidden = false;
    await refresh();
    await loadHistory();
    clearInterval(state.timer);
    state.timer = setInterval(refresh, REFRESH_MS);
  }

  // ---- data ---------------------------------------------------------------------------

  async function refresh() {
    try {
      const params = { region: region() };
      const [summary, stale, alerts, relay] = await Promise.all([
        api("summary", params).then((r) => r.json()),
        api("stale", params).then((r) => r.json()),
        api("alerts", { limit: "50" }).then((r) => r.json()),
        api("relay").then((r) => r.json()),
      ]);
      Object.assign(state, { summary, stale, alerts, relays: window.BedsvcRelay.byHospital(relay.relays) });
      for (const h of summary.hospitals) state.regions.add(h.region_code);
      render();
    } catch (error) {
      if (error instanceof AuthError) signOut(t("badKey"));
      else $("stamp").textContent = error.message;
    }
  }

  function historyParams() {
    const [span, bucket] = RANGES[$("history-range").value] || RANGES["24h"];
    const to = new Date();
    return {
      region: region(),
      hospital: $("history-hospital").value,
      bed_class: $("history-class").value,
      from: new Date(to.getTime() - span).toISOString(),
      to: to.toISOString(),
      bucket,
    };
  }

  async function loadHistory() {
    try {
      const doc = await (await api("history", historyParams())).json();
      const totals = new Map();
      for (const series of doc.series) {
        for (const point of series.points) {
          const sum = totals.get(point.t) || { t: point.t, capacity: 0, occupied: 0 };
          sum.capacity += point.capacity;
          sum.occupied += point.occupied;
          totals.set(point.t, sum);
        }
      }
      const points = [...totals.values()].sort((a, b) => Date.parse(a.t) - Date.parse(b.t));
      const last = points[points.length - 1];
      const label = last ? t("chartLabel", {
        hospital: $("history-hospital").selectedOptions[0].textContent,
        cls: $("history-class").selectedOptions[0].textContent,
        occupied: B.number(last.occupied),
        capacity: B.number(last.capacity),
      }) : "";
      window.BedsvcChart.render($("chart"), points, label, doc.bucket_seconds * 1000);
    } catch (error) {
      if (error instanceof AuthError) signOut(t("badKey"));
    }
  }

  async function download(path, params, fallbackName) {
    try {
      const response = await api(path, params);
      const disposition = response.headers.get("Content-Disposition") || "";
      const match = disposition.match(/filename="([^"]+)"/);
      const blob = await response.blob();
      const link = el("a", { href: URL.createObjectURL(blob), download: match ? match[1] : fallbackName });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    } catch (error) {
      if (error instanceof AuthError) signOut(t("badKey"));
    }
  }

  // ---- view ---------------------------------------------------------------------------

  function borCell(ratio) {
    const fill = el("div", { class: `bor-fill${ratio >= 1 ? " full" : ratio >= 0.85 ? " high" : ""}` });
    fill.style.width = `${Math.min(100, Math.round((ratio || 0) * 100))}%`;
    return el("td", { class: "num" }, el("div", { class: "bor-cell" }, el("span", { text: B.percent(ratio) }), el("div", { class: "bor-bar", "aria-hidden": "true" }, fill)));
  }

  function numberCells(row) {
    return [row.capacity, row.occupied, row.available].map((value) => el("td", { class: "num", text: B.number(value) }));
  }

  function table(target, headings, rows) {
    const head = el("thead", {}, el("tr", {}, ...headings.map(([text, numeric]) => el("th", { scope: "col", class: numeric ? "num" : null, text }))));
    target.replaceChildren(head, el("tbody", {}, ...rows));
  }

  function renderSummary() {
    const { summary } = state;
    $("kpi-capacity").textContent = B.number(summary.total.capacity);
    $("kpi-occupied").textContent = B.number(summary.total.occupied);
    $("kpi-available").textContent = B.number(summary.total.available);
    $("kpi-bor").textContent = B.percent(summary.total.bor);
    const numbers = [[t("capacity"), true], [t("occupied"), true], [t("available"), true], [t("bor"), true]];
    table($("classes-table"), [[t("bedClass")], ...numbers],
      summary.classes.map((c) => el("tr", { "data-class": c.bed_class },
        el("th", { scope: "row", text: B.className(state.bedClasses, c.bed_class) }), ...numberCells(c), borCell(c.bor))));
    table($("hospitals-table"), [[t("hospital")], ...numbers, [t("updatedCol")], [relayHeading()]],
      summary.hospitals.map((h) => el("tr", { "data-code": h.code },
        el("th", { scope: "row", text: h.name }), ...numberCells(h.total), borCell(h.total.bor),
        el("td", {}, el("span", { text: B.ago(h.updated_at) }), h.stale ? el("span", { class: "badge badge-stale", text: t("stale") }) : null),
        relayCell(h.code))));
  }

  function relayHeading() {
    return document.documentElement.lang === "en" ? "National registries" : "Registri nasional";
  }

  /* One line per registry: "SIRS Online: terkirim 1 menit lalu" / "gagal: kata sandi ditolak". */
  function relayCell(code) {
    const relays = (state.relays && state.relays.get(code)) || [];
    return el("td", { class: "relay-cell" }, ...relays.map((relay) => el("span", {
      class: `relay relay-${relay.state}`, "data-registry": relay.registry, text: window.BedsvcRelay.describe(relay),
    })));
  }

  function renderStale() {
    const items = state.stale.hospitals.map((h) => el("li", { class: "stale-item", "data-code": h.code },
      el("span", { class: "item-title" }, h.name, el("span", { class: h.stale ? "badge badge-stale" : "badge badge-muted", text: h.last_report_at ? t("staleSince", { ago: B.ago(h.last_report_at) }) : t("neverReported") })),
      h.wards.length ? el("p", { class: "item-meta", text: t("staleWards", { wards: h.wards.map((w) => `${w.name} (${B.ago(w.last_report_at)})`).join(", ") }) }) : null,
      h.phone ? el("p", { class: "item-meta" }, el("a", { href: `tel:${h.phone.replace(/[^\d+]/g, "")}`, text: h.phone })) : null));
    $("stale-list").replaceChildren(...(items.length ? items : [el("li", { class: "item-meta", text: t("staleEmpty") })]));
  }

  function regionName(code) {
    return state.regionNames.get(code) || code;
  }

  function alertText(alert) {
    if (alert.rule === "relay_failing") return alert.message;  // already in Bahasa Indonesia
    if (alert.rule === "class_exhausted") {
      return t("alertClassExhausted", { cls: B.className(state.bedClasses, alert.bed_class), region: regionName(alert.region_code) });
    }
    const hospital = state.summary && state.summary.hospitals.find((h) => h.code === alert.hospital_code);
    const name = hospital ? hospital.name : alert.hospital_code;
    if (alert.rule === "hospital_stale") return t("alertHospitalStale", { name });
    if (alert.rule === "hospital_stale_escalated") return t("alertHospitalEscalated", { name });
    // A rule this page does not know: the server's own message (in Bahasa Indonesia).
    return alert.message;
  }

  function renderAlerts() {
    const items = state.alerts.map((a) => {
      const open = !a.resolved_at;
      return el("li", { class: `alert-item ${open ? "open" : "resolved"}`, "data-rule": a.rule },
        el("span", { class: "item-title" }, alertText(a), el("span", { class: open ? "badge badge-stale" : "badge badge-muted", text: open ? t("alertOpen") : t("alertResolved") })),
        el("p", { class: "item-meta", text: [B.dateTime(a.fired_at, true), a.resolved_at ? `– ${B.dateTime(a.resolved_at, true)}` : "", a.deliveries ? `· ${t("alertDelivered", { ok: a.delivered, n: a.deliveries })}` : ""].filter(Boolean).join(" ") }));
    });
    $("alert-list").replaceChildren(...(items.length ? items : [el("li", { class: "item-meta", text: t("alertsEmpty") })]));
  }

  function fillSelect(select, options) {
    const current = select.value;
    select.replaceChildren(...options.map(([value, text]) => el("option", { value, text })));
    if (options.some(([value]) => value === current)) select.value = current;
  }

  function renderFilters() {
    fillSelect($("region"), [["", t("allRegions")], ...[...state.regions].sort().map((code) => [code, regionName(code)])]);
    fillSelect($("history-hospital"), [["", t("allHospitals")], ...state.summary.hospitals.map((h) => [h.code, h.name])]);
    fillSelect($("history-class"), [["", t("allClasses")], ...[...state.bedClasses.keys()].map((code) => [code, B.className(state.bedClasses, code)])]);
  }

  function render() {
    if (!state.summary) return;
    renderFilters();
    renderSummary();
    renderStale();
    renderAlerts();
    $("stamp").textContent = t("lastRefresh", { time: B.dateTime(state.summary.generated_at, false) });
  }

  // ---- start --------------------------------------------------------------------------

  async function start() {
    B.initLanguage(() => { render(); loadHistory(); });
    $("login").addEventListener("submit", signIn);
    $("sign-out").addEventListener("click", () => signOut(""));
    $("refresh").addEventListener("click", () => { refresh(); loadHistory(); });
    $("region").addEventListener("change", () => { refresh().then(loadHistory); });
    for (const id of ["history-hospital", "history-class", "history-range"]) $(id).addEventListener("change", loadHistory);
    $("download-csv").addEventListener("click", () => download("export.csv", historyParams(), "bedsvc-history.csv"));
    for (const button of document.querySelectorAll("[data-export]")) {
      button.addEventListener("click", () => download(button.dataset.export, { region: region() }, button.dataset.export.split("/").pop()));
    }
    try {
      state.bedClasses = await B.fetchBedClasses();
    } catch (error) {
      state.bedClasses = new Map();
    }
    try {
      const regions = await (await fetch("/api/v1/regions")).json();
      state.regionNames = new Map(regions.map((r) => [r.code, r.name]));
    } catch (error) {
      state.regionNames = new Map();
    }
    if (state.key) await openBoard();
    else showLogin("");
  }

  start();
})();

/* The citizens' page: free beds by hospital and class, kept current over the live stream.
 *
 * Transport, best first: the live WebSocket (GET /api/v1/live says where it is: the live
 * processes may listen on another port; a snapshot, then one frame of changes at most per
 * tick; reconnects with backoff), Server-Sent Events /api/v1/live/events (same frames), and
 * polling /api/v1/availability every 15 s (?poll=SECONDS, 5 to 300, or data-poll-seconds)
 * whenever neither stream is open. ?transport=ws|sse|poll picks one, for diagnosis.
 */
"use strict";

(function () {
  const B = window.Bedsvc;
  const X = window.BedsvcCitizen; // citizen-more.js: filters, queue, wards, directions, offline
  const N = window.BedsvcNeeds; // needs.js: the need chips and which classes add up
  const { t, el } = B;
  const params = new URLSearchParams(location.search);
  const staleAfterMs = Number(document.body.dataset.staleAfter || 1800) * 1000;
  // ?poll= comes from links anyone can craft: clamped to 5-300 s (15 when not a number), so a
  // link cannot make every visitor's browser poll the server several times a second.
  const pollAsked = Number(params.get("poll") || document.body.dataset.pollSeconds || 15);
  const pollMs = (Number.isFinite(pollAsked) ? Math.min(300, Math.max(5, pollAsked)) : 15) * 1000;
  const region = params.get("region");

  const state = {
    hospitals: new Map(),
    version: -1,
    bedClasses: new Map(),
    position: null,
    cards: new Map(),
    order: "",
    shown: -1,
    need: "",
  };

  const list = document.getElementById("hospitals");
  const classSelect = document.getElementById("bed-class");
  const availableOnly = document.getElementById("available-only");
  const status = document.getElementById("status");

  function endpoint(path) {
    const url = new URL(path, location.href);
    if (region) url.searchParams.set("region", region);
    return url;
  }

  // ---- data ---------------------------------------------------------------------------

  function applySnapshot(version, hospitals, authoritative) {
    if (!authoritative && version < state.version) return;
    state.hospitals = new Map(hospitals.map((h) => [h.code, h]));
    state.version = version;
    render();
  }

  function applyChanges(version, hospitals, removed) {
    if (version < state.version) return;
    state.version = version;
    for (const hospital of hospitals) state.hospitals.set(hospital.code, hospital);
    for (const code of removed) state.hospitals.delete(code);
    render();
  }

  function handleMessage(message) {
    if (!message || typeof message !== "object") return;
    if (message.type === "snapshot") applySnapshot(message.version, message.hospitals || [], true);
    else if (message.type === "changes") applyChanges(message.version, message.hospitals || [], message.removed || []);
  }

  // ---- transports ---------------------------------------------------------------------

  const connection = { kind: null, socket: null, source: null, pollTimer: null, wsFailures: 0, wsEverOpen: false, backoff: 1000, retryTimer: null };

  function setConnection(kind) {
    connection.kind = kind;
    document.getElementById("connection").dataset.state = kind;
    const text = { live: t("live"), polling: t("polling"), offline: t("offline") }[kind] || "";
    document.getElementById("connection-text").textContent = text;
  }

  async function poll() {
    try {
      const response = await fetch(endpoint("/api/v1/availability"), { cache: "no-cache" });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const doc = await response.json();
      X.noteDocument(response, doc);
      applySnapshot(doc.version, doc.hospitals, false);
      if (status.dataset.error) { delete status.dataset.error; announceCount(true); }
    } catch (error) {
      status.dataset.error = "1";
      status.textContent = t("loadFailed");
      X.noteFailure();
    }
  }

  function startPolling() {
    if (connection.pollTimer) return;
    connection.pollTimer = setInterval(poll, pollMs);
    poll();
    if (connection.kind !== "offline") setConnection("polling");
  }

  function stopPolling() {
    clearInterval(connection.pollTimer);
    connection.pollTimer = null;
  }

  function retryLater(connect) {
    clearTimeout(connection.retryTimer);
    connection.retryTimer = setTimeout(connect, connection.backoff);
    connection.backoff = Math.min(connection.backoff * 2, 30000);
  }

  async function liveUrl() {
    const response = await fetch("/api/v1/live", { cache: "no-store" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const url = new URL((await response.json()).websocket, location.href);
    if (region) url.searchParams.set("region", region);
    return url;
  }

  async function connectWebSocket() {
    let url;
    try {
      url = await liveUrl();
    } catch (error) {
      connectEventSource();
      return;
    }
    let opened = false;
    let socket;
    try {
      socket = new WebSocket(url);
    } catch (error) {
      connectEventSource();
      return;
    }
    connection.socket = socket;
    socket.onopen = () => {
      opened = connection.wsEverOpen = true;
      connection.wsFailures = 0;
      connection.backoff = 1000;
      stopPolling();
      setConnection("live");
    };
    socket.onmessage = (event) => handleMessage(JSON.parse(event.data));
    socket.onclose = () => {
      connection.socket = null;
      if (!opened) connection.wsFailures += 1;
      // A server without the WebSocket route (or a proxy that blocks it): try SSE instead.
      if (!connection.wsEverOpen && connection.wsFailures >= 2) {
        connectEventSource();
        return;
      }
      // Polling keeps the numbers current until the stream is back.
      setConnection(connection.wsEverOpen ? "offline" : "polling");
      startPolling();
      retryLater(connectWebSocket);
    };
  }

  function connectEventSource() {
    if (!window.EventSource) { startPolling(); return; }
    let opened = false;
    const source = new EventSource(endpoint("/api/v1/live/events"));
    connection.source = source;
    const onData = (event) => handleMessage(JSON.parse(event.data));
    source.onmessage = onData;
    source.onopen = () => {
      opened = true;
      connection.backoff = 1000;
      stopPolling();
      setConnection("live");
    };
    source.onerror = () => {
      if (source.readyState !== EventSource.CLOSED) {
        // The browser reconnects by itself (resuming with Last-Event-ID); poll meanwhile.
        setConnection("offline");
        startPolling();
        return;
      }
      source.close();
      connection.source = null;
      startPolling();
      // Never opened: this server has no live stream; poll, and look again in a few minutes.
      setConnection("polling");
      if (!opened) setTimeout(() => { connection.wsFailures = 0; connectWebSocket(); }, 300000);
      else retryLater(connectEventSource);
    };
  }

  function startTransport() {
    const forced = params.get("transport");
    if (forced === "poll" || !window.WebSocket) startPolling();
    else if (forced === "sse") connectEventSource();
    else connectWebSocket();
  }

  // ---- view ---------------------------------------------------------------------------

  function distanceKm(lat1, lon1, lat2, lon2) {
    const rad = Math.PI / 180;
    const dLat = (lat2 - lat1) * rad;
    const dLon = (lon2 - lon1) * rad;
    const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2;
    return 6371.0088 * 2 * Math.asin(Math.sqrt(a));
  }

  function isStale(item, now) {
    if (item.stale) return true;
    return !item.updated_at || now - Date.parse(item.updated_at) > staleAfterMs;
  }

  function view(hospital, now) {
    const { main, special } = N.split(hospital, state.need, classSelect.value);
    if (!main.length && !special.length) return null;
    if (!main.length && (state.need || classSelect.value)) return null;
    // Only like classes add up: the chosen need's, or under "Semua" the general wards'.
    const free = main.reduce((sum, c) => sum + c.available, 0);
    const capacity = main.reduce((sum, c) => sum + c.capacity, 0);
    const shown = main.concat(special);
    const updated = shown.reduce((latest, c) => (!latest || c.updated_at > latest ? c.updated_at : latest), null);
    let distance = null;
    if (state.position && hospital.lat !== null && hospital.lon !== null) {
      distance = distanceKm(state.position.lat, state.position.lon, hospital.lat, hospital.lon);
    }
    return {
      hospital, main, special, free, capacity, updated, distance,
      stale: shown.some((c) => isStale(c, now)),
    };
  }

  function phoneLink(hospital) {
    const digits = (hospital.phone || "").replace(/[^\d+]/g, "");
    if (!digits) return null;
    return el("a", {
      class: "button button-call button-small",
      href: `tel:${digits}`,
      "aria-label": t("callLabel", { name: hospital.name, phone: hospital.phone }),
    },
    B.svg("svg", { class: "icon", viewBox: "0 0 24 24", "aria-hidden": "true" },
      B.svg("path", { d: "M6.6 10.8a15.1 15.1 0 0 0 6.6 6.6l2.2-2.2a1 1 0 0 1 1-.25 11.4 11.4 0 0 0 3.6.57 1 1 0 0 1 1 1V20a1 1 0 0 1-1 1A17 17 0 0 1 3 4a1 1 0 0 1 1-1h3.5a1 1 0 0 1 1 1c0 1.25.2 2.45.57 3.57a1 1 0 0 1-.25 1z" })),
    el("span", { text: t("call") }));
  }

  function chip(c, special) {
    const classes = `class-chip${c.available === 0 ? " class-chip-zero" : ""}${X.crowded(c) ? " class-chip-crowded" : ""}${special ? " class-chip-special" : ""}`;
    return el("li", { class: classes, "data-class": c.bed_class },
      el("span", { class: "class-chip-name", text: B.className(state.bedClasses, c.bed_class) }),
      el("strong", { text: B.number(c.available) }),
      el("span", { class: "class-chip-of", text: `/${B.number(c.capacity)}` }),
      ...X.classExtras(c));
  }

  function card(item) {
    const { hospital, free, capacity, main, special, distance, stale, updated } = item;
    const narrowed = !!(state.need || classSelect.value);
    const meta = [hospital.kind, distance === null ? null : t("km", { n: B.number(distance, 1) })].filter(Boolean).join(" · ");
    const count = main.length ? el("div", { class: `count${free === 0 ? " count-zero" : ""}` },
      el("span", { class: "count-number", text: B.number(free) }),
      el("span", { class: "count-label", text: free === 0 ? t("full") : t("free") }),
      narrowed ? el("span", { class: "count-capacity", text: t("ofCapacity", { n: B.number(capacity) }) }) : null,
      X.queueNote(main)) : null;
    const head = el("div", { class: "card-head" },
      el("div", { class: "card-title" },
        el("h3", { class: "hospital-name", text: hospital.name }),
        el("p", { class: "hospital-meta" },
          meta ? el("span", { text: meta }) : null,
          el("span", { class: "updated-text", "data-updated": updated || "", text: t("updated", { ago: B.ago(updated) }) }),
          stale ? el("span", { class: "badge badge-stale", title: t("staleHint") }, el("span", { text: t("stale") })) : null)),
      count);
    const chips = main.length > 1 || (!narrowed && main.length)
      ? el("ul", { class: "class-list", "aria-label": t("freeByClass") }, ...main.map((c) => chip(c, false)))
      : null;
    const units = special.length
      ? el("ul", { class: "class-list class-list-special", "aria-label": X.text("specialUnits") }, ...special.map((c) => chip(c, true)))
      : null;
    const full = narrowed && main.length && free === 0 ? main.filter((c) => c.available === 0).map((c) => c.bed_class) : [];
    const actions = el("div", { class: "card-actions" },
      phoneLink(hospital),
      X.directions(hospital),
      full.length ? window.BedsvcNotify.button(hospital, full) : null);
    const more = X.wardsView(hospital, state.bedClasses, stale ? t("staleHint") : null);
    return el("article", { class: "card" }, head, chips, units, actions, more);
  }

  function announceCount(force) {
    const shown = list.children.length;
    if (force || shown !== state.shown) {
      state.shown = shown;
      status.textContent = t("shown", { n: shown });
    }
  }

  function order(a, b) {
    // A free bed first; then the nearest once the location is known, otherwise current data
    // before old and the most free beds first.
    if ((a.free > 0) !== (b.free > 0)) return a.free > 0 ? -1 : 1;
    if (state.position) {
      const da = a.distance === null ? Infinity : a.distance;
      const db = b.distance === null ? Infinity : b.distance;
      if (da !== db) return da - db;
    } else {
      if (a.stale !== b.stale) return a.stale ? 1 : -1;
      if (a.free !== b.free) return b.free - a.free;
    }
    return a.hospital.name.localeCompare(b.hospital.name, B.lang);
  }

  function render() {
    const now = Date.now();
    X.seenHospitals(state.hospitals);
    let items = [...state.hospitals.values()].filter(X.matches).map((h) => view(h, now)).filter(Boolean);
    if (availableOnly.checked) items = items.filter((item) => item.free > 0);
    items.sort(order);
    const seen = new Set();
    for (const item of items) {
      const code = item.hospital.code;
      seen.add(code);
      const signature = JSON.stringify([item.hospital, state.need, classSelect.value, item.distance && item.distance.toFixed(1), item.stale, B.lang]);
      let entry = state.cards.get(code);
      if (!entry) {
        entry = { li: el("li", { class: "hospital", "data-code": code }), signature: "" };
        state.cards.set(code, entry);
      }
      if (entry.signature !== signature) {
        entry.signature = signature;
        entry.li.classList.toggle("hospital-stale", item.stale);
        entry.li.replaceChildren(card(item));
      }
    }
    for (const [code, entry] of state.cards) {
      if (!seen.has(code)) { entry.li.remove(); state.cards.delete(code); }
    }
    const sequence = items.map((item) => item.hospital.code).join(",");
    if (sequence !== state.order) {
      state.order = sequence;
      list.replaceChildren(...items.map((item) => state.cards.get(item.hospital.code).li));
    }
    document.getElementById("empty").hidden = items.length > 0 || state.version < 0;
    announceCount(false);
    X.keepDocument(state.version, state.hospitals);
  }

  function refreshAges() {
    for (const node of list.querySelectorAll(".updated-text")) {
      node.textContent = t("updated", { ago: B.ago(node.dataset.updated || null) });
    }
  }

  // ---- controls -----------------------------------------------------------------------

  function fillNeeds() {
    const box = document.getElementById("need-chips");
    for (const old of box.querySelectorAll("button")) old.remove();
    for (const need of N.NEEDS) {
      const button = el("button", { type: "button", class: "need-chip", "data-need": need.code, "aria-pressed": String(need.code === state.need && !classSelect.value), text: N.label(need.code, B.lang) });
      button.addEventListener("click", () => chooseNeed(need.code));
      box.append(button);
    }
  }

  function chooseNeed(code) {
    state.need = code;
    classSelect.value = "";
    sessionStorage.setItem("bedsvc.need", code);
    sessionStorage.setItem("bedsvc.class", "");
    fillNeeds();
    render();
  }

  function fillClasses() {
    const selected = classSelect.value;
    const options = [el("option", { value: "", "data-i18n": "allClasses", text: t("allClasses") })];
    for (const [code] of state.bedClasses) {
      options.push(el("option", { value: code, text: B.className(state.bedClasses, code) }));
    }
    classSelect.replaceChildren(...options);
    classSelect.value = selected;
  }

  function locate() {
    if (!navigator.geolocation) { status.textContent = t("locateFailed"); return; }
    status.textContent = t("locating");
    navigator.geolocation.getCurrentPosition(
      (position) => {
        state.position = { lat: position.coords.latitude, lon: position.coords.longitude };
        status.textContent = t("located");
        render();
      },
      () => { status.textContent = t("locateFailed"); },
      { timeout: 10000, maximumAge: 300000 },
    );
  }

  /** A notification opens the page on its hospital (?hospital=CODE): shown and marked. */
  function focusHospital() {
    const entry = state.cards.get(params.get("hospital") || "");
    if (!entry) return;
    entry.li.classList.add("hospital-focus");
    entry.li.scrollIntoView({ block: "start" });
  }

  async function start() {
    X.init(render);
    B.initLanguage(() => { X.relabel(); fillClasses(); fillNeeds(); state.order = ""; render(); announceCount(true); refreshAges(); setConnection(connection.kind); });
    const saved = sessionStorage.getItem("bedsvc.class");
    const savedNeed = sessionStorage.getItem("bedsvc.need");
    if (savedNeed !== null) state.need = N.find(savedNeed).code;
    if (params.has("need")) state.need = N.find(params.get("need")).code;
    classSelect.addEventListener("change", () => { sessionStorage.setItem("bedsvc.class", classSelect.value); fillNeeds(); render(); });
    availableOnly.addEventListener("change", render);
    document.getElementById("locate").addEventListener("click", locate);
    fillNeeds();
    status.textContent = t("loading");
    try {
      state.bedClasses = await B.fetchBedClasses();
    } catch (error) {
      state.bedClasses = new Map();
    }
    fillClasses();
    if (saved && state.bedClasses.has(saved)) classSelect.value = saved;
    if (params.has("bed_class") && state.bedClasses.has(params.get("bed_class"))) classSelect.value = params.get("bed_class");
    fillNeeds();
    await poll();
    focusHospital();
    startTransport();
    setInterval(refreshAges, 30000);
    if (navigator.permissions) {
      navigator.permissions.query({ name: "geolocation" }).then((result) => {
        if (result.state === "granted") locate();
      }, () => {});
    }
  }

  start();
})();

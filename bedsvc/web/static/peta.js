/* The map /peta: one marker per hospital, named after it, coloured by its free beds for the
 * chosen need (the same needs as the list; unlike classes never add up), with a popup of the
 * numbers, their age, a call and directions. Tiles come from BEDSVC_MAP_TILE_URL; the markers
 * need none, so they show offline and where no tile server is reachable. Kept current by the
 * live feed; the first data comes from /api/v1/availability (the service worker's copy
 * offline).
 */
"use strict";

(function () {
  const B = window.Bedsvc;
  const N = window.BedsvcNeeds;
  const { t, el } = B;
  const body = document.body;
  const staleAfterMs = Number(body.dataset.staleAfter || 1800) * 1000;
  const params = new URLSearchParams(location.search);
  const region = params.get("region");

  const STRINGS = {
    id: { list: "Daftar", heading: "Peta tempat tidur kosong", needs: "Kebutuhan", good: "Ada kosong", few: "1–2 kosong",
      full: "Penuh", none: "Tidak ada kelas ini", shown: "{n} rumah sakit di peta.", directions: "Petunjuk arah",
      special: "Unit khusus", noPlace: "{n} rumah sakit tanpa titik lokasi." },
    en: { list: "List", heading: "Map of free beds", needs: "Need", good: "Beds free", few: "1–2 free",
      full: "Full", none: "No such class", shown: "{n} hospitals on the map.", directions: "Directions",
      special: "Special units", noPlace: "{n} hospitals have no location." },
  };
  const s = (key, vars) => {
    let text = (STRINGS[B.lang] || STRINGS.id)[key];
    for (const [name, value] of Object.entries(vars || {})) text = text.replaceAll(`{${name}}`, value);
    return text;
  };

  const state = { hospitals: new Map(), bedClasses: new Map(), need: N.find(sessionStorage.getItem("bedsvc.need") || "").code, markers: new Map(), fitted: false };
  const map = L.map("map", { zoomControl: true, keyboard: true }).setView([-6.73, 108.55], 12);
  L.tileLayer(body.dataset.tileUrl, { attribution: body.dataset.tileAttribution, maxZoom: 19 }).addTo(map);

  function stale(c, now) {
    return c.stale || !c.updated_at || now - Date.parse(c.updated_at) > staleAfterMs;
  }

  function level(main, free) {
    if (!main.length) return "none";
    if (free === 0) return "full";
    return free < 3 ? "few" : "good";
  }

  function chips(classes, special) {
    return el("ul", { class: `class-list${special ? " class-list-special" : ""}` }, ...classes.map((c) =>
      el("li", { class: `class-chip${c.available === 0 ? " class-chip-zero" : ""}` },
        el("span", { class: "class-chip-name", text: B.className(state.bedClasses, c.bed_class) }),
        el("strong", { text: B.number(c.available) }),
        el("span", { class: "class-chip-of", text: `/${B.number(c.capacity)}` }))));
  }

  function popup(hospital, main, special, free, isStale, updated) {
    const digits = (hospital.phone || "").replace(/[^\d+]/g, "");
    return el("div", { class: "map-popup" },
      el("h2", { text: hospital.name }),
      main.length ? el("p", {}, el("strong", { text: `${B.number(free)} ${free === 0 ? t("full") : t("free")}` })) : null,
      main.length ? chips(main, false) : null,
      special.length ? chips(special, true) : null,
      el("p", { class: "muted" }, t("updated", { ago: B.ago(updated) }), isStale ? ` · ${t("stale")}` : ""),
      el("p", { class: "popup-actions" },
        digits ? el("a", { class: "button button-small", href: `tel:${digits}`, "aria-label": t("callLabel", { name: hospital.name, phone: hospital.phone }), text: t("call") }) : null,
        el("a", { class: "button button-secondary button-small", href: B.directionsHref(hospital), target: B.opensInApp ? null : "_blank", rel: B.opensInApp ? null : "noopener", text: s("directions") })));
  }

  function place(hospital, now) {
    const { main, special } = N.split(hospital, state.need, "");
    const free = main.reduce((sum, c) => sum + c.available, 0);
    const shown = main.concat(special);
    const updated = shown.reduce((latest, c) => (!latest || c.updated_at > latest ? c.updated_at : latest), null);
    const isStale = shown.some((c) => stale(c, now));
    const kind = level(main, free);
    const icon = L.divIcon({
      className: `bed-marker bed-marker-${kind}${isStale ? " bed-marker-stale" : ""}`,
      html: main.length ? `<span aria-hidden="true">${Number(free)}</span>` : "",
      iconSize: [34, 34],
      popupAnchor: [0, -14],
    });
    let marker = state.markers.get(hospital.code);
    if (!marker) {
      marker = L.marker([hospital.lat, hospital.lon], { icon, title: hospital.name, alt: hospital.name, keyboard: true, riseOnHover: true });
      marker.addTo(map);
      state.markers.set(hospital.code, marker);
    } else {
      marker.setLatLng([hospital.lat, hospital.lon]);
      marker.setIcon(icon);
    }
    // The marker's accessible name is the hospital's name; its number is for the eye.
    const element = marker.getElement();
    element.setAttribute("aria-label", hospital.name);
    element.title = hospital.name;
    element.dataset.code = hospital.code;
    element.dataset.free = String(free);
    marker.bindPopup(popup(hospital, main, special, free, isStale, updated));
  }

  function render() {
    const now = Date.now();
    let missing = 0;
    for (const hospital of state.hospitals.values()) {
      if (hospital.lat === null || hospital.lon === null || hospital.lat === undefined) { missing += 1; continue; }
      place(hospital, now);
    }
    for (const [code, marker] of state.markers) {
      if (!state.hospitals.has(code)) { marker.remove(); state.markers.delete(code); }
    }
    const shown = state.markers.size;
    document.getElementById("map-status").textContent = [s("shown", { n: shown }), missing ? s("noPlace", { n: missing }) : ""].filter(Boolean).join(" ");
    if (!state.fitted && shown) {
      state.fitted = true;
      map.fitBounds(L.latLngBounds([...state.markers.values()].map((m) => m.getLatLng())), { padding: [30, 30], maxZoom: 15 });
    }
  }

  function fillNeeds() {
    const box = document.getElementById("need-chips");
    box.setAttribute("aria-label", s("needs"));
    box.replaceChildren(...N.NEEDS.map((need) => {
      const button = el("button", { type: "button", class: "need-chip", "aria-pressed": String(need.code === state.need), text: N.label(need.code, B.lang) });
      button.addEventListener("click", () => {
        state.need = need.code;
        sessionStorage.setItem("bedsvc.need", need.code);
        fillNeeds();
        render();
      });
      return button;
    }));
  }

  function relabel() {
    document.getElementById("list-link").textContent = s("list");
    document.getElementById("map-heading").textContent = s("heading");
    for (const key of ["good", "few", "full", "none"]) document.getElementById(`legend-${key}`).textContent = s(key);
    fillNeeds();
    render();
  }

  async function start() {
    B.initLanguage(relabel);
    relabel();
    try { state.bedClasses = await B.fetchBedClasses(); } catch (error) { state.bedClasses = new Map(); }
    const url = new URL("/api/v1/availability", location.href);
    if (region) url.searchParams.set("region", region);
    try {
      const response = await fetch(url, { cache: "no-cache" });
      if (response.ok) {
        const doc = await response.json();
        state.hospitals = new Map(doc.hospitals.map((h) => [h.code, h]));
        render();
      }
    } catch (error) { /* offline with nothing kept: the live feed fills the map once it connects */ }
    B.liveFeed({
      region,
      onSnapshot(version, hospitals) { state.hospitals = new Map(hospitals.map((h) => [h.code, h])); render(); },
      onHospital(version, hospital) { state.hospitals.set(hospital.code, hospital); render(); },
      onRemoved(version, code) { state.hospitals.delete(code); render(); },
      onState() {},
    });
    setInterval(render, 60000);
    if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js").catch(() => {});
  }

  start();
})();

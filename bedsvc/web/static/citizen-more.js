/* The citizens' page, continued: region picker, kind and BPJS filters, queue and beds by sex,
 * a hospital's wards, directions, the offline notice and the service worker. citizen.js calls
 * these at a few points (window.BedsvcCitizen); they keep no transport of their own.
 */
"use strict";

(function () {
  const B = window.Bedsvc;
  const { t, el } = B;
  const params = new URLSearchParams(location.search);

  const STRINGS = {
    id: {
      regionLabel: "Wilayah", allRegions: "Semua wilayah", kindLabel: "Jenis rumah sakit",
      allKinds: "Semua jenis", bpjsOnly: "Hanya mitra BPJS", queue: "{n} antrean",
      queueFull: "antrean ≥ kosong", male: "L {n}", female: "P {n}",
      maleLong: "{n} kosong untuk laki-laki", femaleLong: "{n} kosong untuk perempuan",
      directions: "Petunjuk arah", openMap: "Buka di aplikasi peta",
      directionsLabel: "Petunjuk arah ke {name}", openMapLabel: "Buka {name} di aplikasi peta",
      wards: "Lihat ruang", wardsTitle: "Ruang perawatan", wardsLoading: "Memuat ruang…",
      wardsFailed: "Ruang belum dapat dimuat.", wardFree: "{free} dari {capacity} kosong",
      offline: "Anda sedang offline. Menampilkan data terakhir ({ago}, pukul {time}).",
      offlineNoData: "Anda sedang offline dan belum ada data tersimpan.",
      mapLink: "Peta", needLabel: "Kebutuhan", nearest: "Terdekat", filter: "Filter",
      specialUnits: "Unit khusus", address: "Alamat",
    },
    en: {
      regionLabel: "Region", allRegions: "All regions", kindLabel: "Kind of hospital",
      allKinds: "All kinds", bpjsOnly: "BPJS partners only", queue: "{n} waiting",
      queueFull: "queue ≥ free", male: "M {n}", female: "F {n}",
      maleLong: "{n} free for men", femaleLong: "{n} free for women",
      directions: "Directions", openMap: "Open in maps app",
      directionsLabel: "Directions to {name}", openMapLabel: "Open {name} in the maps app",
      wards: "Show wards", wardsTitle: "Wards", wardsLoading: "Loading wards…",
      wardsFailed: "The wards could not be loaded.", wardFree: "{free} of {capacity} free",
      offline: "You are offline. Showing the last data ({ago}, at {time}).",
      offlineNoData: "You are offline and no data has been saved yet.",
      mapLink: "Map", needLabel: "Need", nearest: "Nearest", filter: "Filter",
      specialUnits: "Special units", address: "Address",
    },
  };

  function s(key, vars) {
    let text = (STRINGS[B.lang] || STRINGS.id)[key] || STRINGS.id[key] || key;
    for (const [name, value] of Object.entries(vars || {})) text = text.replaceAll(`{${name}}`, value);
    return text;
  }

  const state = { rerender: () => {}, partners: null, kinds: "", openWards: new Set(), lastGenerated: null, offline: false };
  const $ = (id) => document.getElementById(id);

  // ---- queue and beds by sex ------------------------------------------------------------

  /** A class whose queue is at least its free beds: the free beds are spoken for. */
  function crowded(c) {
    return c.waiting !== null && c.waiting !== undefined && c.waiting > 0 && c.available > 0 && c.waiting >= c.available;
  }

  /** On a class chip: its queue. Beds by sex are in the detail, on demand. */
  function classExtras(c) {
    if (!c.waiting) return [];
    return [el("span", { class: `class-chip-queue${crowded(c) ? " is-crowded" : ""}`, text: s("queue", { n: B.number(c.waiting) }) })];
  }

  function sexNote(c) {
    const parts = [];
    if (c.available_male !== null && c.available_male !== undefined) parts.push(s("male", { n: B.number(c.available_male) }));
    if (c.available_female !== null && c.available_female !== undefined) parts.push(s("female", { n: B.number(c.available_female) }));
    return parts.join(" · ");
  }

  /** The line under the big count: the queue of the shown classes, and whether it eats them. */
  function queueNote(classes) {
    const waiting = classes.reduce((sum, c) => sum + (c.waiting || 0), 0);
    if (!waiting) return null;
    const free = classes.reduce((sum, c) => sum + c.available, 0);
    const full = free > 0 && waiting >= free;
    return el("span", { class: `count-queue${full ? " is-crowded" : ""}`, text: full ? `${s("queue", { n: B.number(waiting) })} · ${s("queueFull")}` : s("queue", { n: B.number(waiting) }) });
  }

  // ---- directions -----------------------------------------------------------------------

  function directions(hospital) {
    if (hospital.lat === null || hospital.lon === null || hospital.lat === undefined) return null;
    return el("a", {
      class: "button button-secondary button-small directions", href: B.directionsHref(hospital),
      target: B.opensInApp ? null : "_blank", rel: B.opensInApp ? null : "noopener",
      "aria-label": s("directionsLabel", { name: hospital.name }), text: s("directions"),
    });
  }

  // ---- a hospital's wards ---------------------------------------------------------------

  function wardRow(w, bedClasses) {
    const extra = [];
    if (w.waiting) extra.push(s("queue", { n: B.number(w.waiting) }));
    if (w.available_male !== null) extra.push(s("maleLong", { n: B.number(w.available_male) }));
    if (w.available_female !== null) extra.push(s("femaleLong", { n: B.number(w.available_female) }));
    return el("li", { class: "ward-row", "data-ward": w.ward_code },
      el("span", { class: "ward-row-name", text: `${w.name} · ${B.className(bedClasses, w.bed_class)}` }),
      el("strong", { class: "ward-row-free", text: s("wardFree", { free: B.number(w.available), capacity: B.number(w.capacity) }) }),
      extra.length ? el("span", { class: "ward-row-extra", text: extra.join(" · ") }) : null);
  }

  async function fillWards(code, box, bedClasses) {
    box.replaceChildren(el("p", { class: "muted", text: s("wardsLoading") }));
    try {
      const response = await fetch(`/api/v1/hospitals/${encodeURIComponent(code)}`, { cache: "no-cache" });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const detail = await response.json();
      box.replaceChildren(el("ul", { class: "ward-rows", "aria-label": s("wardsTitle") }, ...detail.wards.map((w) => wardRow(w, bedClasses))));
    } catch (error) {
      box.replaceChildren(el("p", { class: "muted", text: s("wardsFailed") }));
    }
  }

  function wardsView(hospital, bedClasses, staleHint) {
    const box = el("div", { class: "ward-box" });
    const sexes = hospital.classes.map((c) => [c, sexNote(c)]).filter(([, note]) => note);
    const details = el("details", { class: "wards-view" }, el("summary", { text: s("wards") }),
      staleHint ? el("p", { class: "stale-hint", text: staleHint }) : null,
      hospital.address ? el("p", { class: "hospital-address" }, el("span", { class: "visually-hidden", text: `${s("address")}: ` }), hospital.address) : null,
      sexes.length ? el("p", { class: "sex-note" }, sexes.map(([c, note]) => `${B.className(bedClasses, c.bed_class)}: ${note}`).join("; ")) : null,
      box);
    if (state.openWards.has(hospital.code)) {
      details.open = true;
      fillWards(hospital.code, box, bedClasses);
    }
    details.addEventListener("toggle", () => {
      if (details.open) { state.openWards.add(hospital.code); fillWards(hospital.code, box, bedClasses); }
      else state.openWards.delete(hospital.code);
    });
    return details;
  }

  // ---- filters --------------------------------------------------------------------------

  function matches(hospital) {
    const kind = $("kind").value;
    if (kind && hospital.kind !== kind) return false;
    if ($("bpjs-only").checked && state.partners && !state.partners.has(hospital.code)) return false;
    return true;
  }

  function seenHospitals(hospitals) {
    const kinds = [...new Set([...hospitals.values()].map((h) => h.kind).filter(Boolean))].sort();
    const signature = kinds.join("|") + B.lang;
    if (signature === state.kinds) return;
    state.kinds = signature;
    const select = $("kind");
    const chosen = select.value;
    select.replaceChildren(el("option", { value: "", text: s("allKinds") }), ...kinds.map((k) => el("option", { value: k, text: k })));
    select.value = kinds.includes(chosen) ? chosen : "";
  }

  async function fillRegions() {
    const select = $("region");
    const chosen = params.get("region") || "";
    try {
      const response = await fetch("/api/v1/regions");
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const regions = await response.json();
      select.replaceChildren(el("option", { value: "", text: s("allRegions") }),
        ...regions.map((r) => el("option", { value: r.code, text: `${r.name} (${r.hospitals})` })));
      if (chosen && !regions.some((r) => r.code === chosen)) select.append(el("option", { value: chosen, text: chosen }));
    } catch (error) {
      if (chosen) select.append(el("option", { value: chosen, text: chosen }));
    }
    select.value = chosen;
  }

  function chooseRegion() {
    // The live stream and the polls take the region when they start: a new address restarts them.
    const next = new URL(location.href);
    if ($("region").value) next.searchParams.set("region", $("region").value);
    else next.searchParams.delete("region");
    location.assign(next);
  }

  async function loadPartners() {
    try {
      const response = await fetch("/api/v1/bpjs-partners");
      if (response.ok) state.partners = new Set(await response.json());
    } catch (error) { /* the filter then lets everything through */ }
  }

  // ---- offline --------------------------------------------------------------------------

  function showOffline() {
    const notice = $("offline-notice");
    if (!state.offline) { notice.hidden = true; return; }
    notice.hidden = false;
    notice.textContent = state.lastGenerated
      ? s("offline", { ago: B.ago(state.lastGenerated), time: B.dateTime(state.lastGenerated) })
      : s("offlineNoData");
  }

  /** Every availability response the page reads: the service worker marks a cached one. */
  function noteDocument(response, doc) {
    state.offline = response.headers.get("X-Bedsvc-Offline") === "1";
    if (doc && doc.generated_at) state.lastGenerated = doc.generated_at;
    showOffline();
  }

  function noteFailure() {
    if (!navigator.onLine) { state.offline = true; showOffline(); }
  }

  // ---- the last document shown, for the next visit offline -----------------------------

  const DATA_CACHE = "bedsvc-data";
  const keep = { timer: null, version: -1, hospitals: null, written: false };

  /** Keeps the state the page shows as the availability document the service worker answers
   * offline (at once, then at most every 10 s): the next load without a network lists these
   * hospitals with the age of their data. */
  function keepDocument(version, hospitals) {
    if (!("caches" in window) || version < 0 || state.offline) return;
    keep.version = version;
    keep.hospitals = hospitals;
    if (keep.timer) return;
    keep.timer = setTimeout(async () => {
      keep.timer = null;
      keep.written = true;
      const doc = { version: keep.version, generated_at: new Date().toISOString(), hospitals: [...keep.hospitals.values()] };
      const url = new URL("/api/v1/availability", location.href);
      if (params.get("region")) url.searchParams.set("region", params.get("region"));
      try {
        const cache = await caches.open(DATA_CACHE);
        await cache.put(url.pathname + url.search, new Response(JSON.stringify(doc), { headers: { "Content-Type": "application/json" } }));
      } catch (error) { /* storage full or refused: the next visit needs the network */ }
    }, keep.written ? 10000 : 300);
  }

  function registerWorker() {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.register("/sw.js").catch(() => {});
  }

  function init(rerender) {
    state.rerender = rerender;
    const refilter = () => rerender();
    $("kind").addEventListener("change", refilter);
    $("bpjs-only").addEventListener("change", refilter);
    $("region").addEventListener("change", chooseRegion);
    window.addEventListener("offline", () => { state.offline = true; showOffline(); });
    window.addEventListener("online", () => { state.offline = false; showOffline(); });
    setInterval(showOffline, 30000);
    fillRegions();
    loadPartners().then(refilter);
    registerWorker();
  }

  function relabel() {
    state.kinds = "";
    const region = $("region").querySelector('option[value=""]');
    if (region) region.textContent = s("allRegions");
    for (const node of document.querySelectorAll("[data-i18n-more]")) node.textContent = s(node.dataset.i18nMore);
    showOffline();
  }

  window.BedsvcCitizen = {
    classExtras, queueNote, crowded, directions, wardsView, matches, seenHospitals,
    noteDocument, noteFailure, init, relabel, keepDocument, text: s,
  };
})();

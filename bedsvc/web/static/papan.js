/* The lobby board /papan/{hospital_code}: one hospital's free beds and queue per class, full
 * screen, no interaction. Updates from the live feed (live-feed.js), judges staleness by the
 * clock as time passes, and says so plainly when its data is old or the connection is lost.
 */
"use strict";

(function () {
  const B = window.Bedsvc;
  const { el } = B;
  const $ = (id) => document.getElementById(id);
  const code = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop() || "");
  const staleAfterMs = Number(document.body.dataset.staleAfter || 1800) * 1000;

  const state = { hospital: null, bedClasses: new Map(), connection: "connecting", lostSince: null };

  function number(n) {
    return new Intl.NumberFormat("id-ID").format(n);
  }

  function time(iso) {
    return new Intl.DateTimeFormat("id-ID", { hour: "2-digit", minute: "2-digit" }).format(new Date(iso));
  }

  function tile(c, now) {
    const full = c.available === 0;
    const crowded = c.waiting !== null && c.waiting !== undefined && c.waiting > 0 && c.waiting >= c.available;
    const stale = now - Date.parse(c.updated_at) > staleAfterMs;
    const status = full ? "Penuh" : crowded ? "Antrean penuh" : "Kosong";
    return el("li", { class: `board-class${full ? " is-full" : crowded ? " is-crowded" : ""}${stale ? " is-stale" : ""}`, "data-class": c.bed_class },
      el("h2", { class: "board-class-name", text: B.className(state.bedClasses, c.bed_class) }),
      el("p", { class: "board-free" },
        el("span", { class: "board-free-number", text: number(c.available) }),
        el("span", { class: "board-free-label", text: status })),
      el("p", { class: "board-total", text: `dari ${number(c.capacity)} tempat tidur` }),
      el("p", { class: "board-queue", text: c.waiting ? `${number(c.waiting)} antrean` : "Tanpa antrean" }),
      stale ? el("p", { class: "board-class-stale", text: `Data lama · ${time(c.updated_at)}` }) : null);
  }

  /** Columns and rows for `count` tiles in the list's box: the split whose tiles are the
   * largest for what a tile holds (about 1.6 times as wide as tall). The grid takes the tile
   * width as its auto-fit minimum, so it makes exactly those columns. */
  function layout() {
    const list = $("board-classes");
    const count = list.children.length;
    if (!count) return;
    const box = list.getBoundingClientRect();
    const gap = Math.max(6, Math.round(Math.min(innerWidth, innerHeight) * 0.012));
    let best = { score: -1, columns: 1, rows: count };
    for (let columns = 1; columns <= count; columns += 1) {
      const rows = Math.ceil(count / columns);
      const width = (box.width - gap * (columns - 1)) / columns;
      const height = (box.height - gap * (rows - 1)) / rows;
      const score = Math.min(height, width / 1.6);
      if (score > best.score) best = { score, columns, rows };
    }
    const width = (box.width - gap * (best.columns - 1)) / best.columns;
    list.style.setProperty("--gap", `${gap}px`);
    list.style.setProperty("--rows", String(best.rows));
    list.style.setProperty("--tile-min", `${Math.floor(width) - 1}px`);
  }

  function render() {
    const now = Date.now();
    const hospital = state.hospital;
    const classes = hospital ? hospital.classes : [];
    $("board-classes").replaceChildren(...classes.map((c) => tile(c, now)));
    $("board-empty").hidden = !hospital || classes.length > 0;
    const updated = hospital && hospital.updated_at;
    $("board-updated").textContent = updated ? `Laporan terakhir pukul ${time(updated)} (${B.ago(updated, now)})` : "Belum ada laporan.";
    const old = !!updated && now - Date.parse(updated) > staleAfterMs;
    let alert = "";
    if (state.connection === "reconnecting") {
      const since = state.lostSince ? ` sejak ${time(new Date(state.lostSince).toISOString())}` : "";
      alert = `Koneksi terputus${since}. Angka di layar mungkin sudah berubah; menyambung ulang…`;
    } else if (old) {
      alert = `Data lama: rumah sakit belum memperbarui sejak ${time(updated)}. Tanyakan ke petugas.`;
    }
    $("board-alert").textContent = alert;
    $("board-alert").hidden = !alert;
    document.body.classList.toggle("board-degraded", !!alert);
    layout();
  }

  function setConnection(next) {
    if (next === "reconnecting" && state.connection !== "reconnecting") state.lostSince = Date.now();
    if (next === "live") state.lostSince = null;
    state.connection = next;
    $("board-connection").dataset.state = next;
    $("board-connection-text").textContent = next === "live" ? "Terhubung" : "Terputus, menyambung ulang…";
    render();
  }

  function tick() {
    $("board-clock").textContent = new Intl.DateTimeFormat("id-ID", { hour: "2-digit", minute: "2-digit" }).format(new Date());
  }

  async function start() {
    // The list's box changes with the screen, the banner and the name's lines.
    new ResizeObserver(layout).observe($("board-classes"));
    tick();
    setInterval(tick, 10000);
    setInterval(render, 15000);
    try { state.bedClasses = await B.fetchBedClasses(); } catch (error) { state.bedClasses = new Map(); }
    let response;
    try {
      response = await fetch(`/api/v1/hospitals/${encodeURIComponent(code)}`, { cache: "no-cache" });
    } catch (error) {
      response = null;
    }
    if (!response || !response.ok) {
      $("board-hospital").textContent = response && response.status === 404 ? "Rumah sakit tidak ditemukan" : "Data belum dapat dimuat";
      if (!response || response.status !== 404) setTimeout(start, 5000);
      return;
    }
    const detail = await response.json();
    state.hospital = detail;
    document.title = `Papan Tempat Tidur · ${detail.name}`;
    $("board-hospital").textContent = detail.name;
    render();
    B.liveFeed({
      region: detail.region_code,
      onSnapshot(version, hospitals) {
        const found = hospitals.find((h) => h.code === code);
        state.hospital = found || { ...state.hospital, classes: [], updated_at: null };
        render();
      },
      onHospital(version, hospital) {
        if (hospital.code !== code) return;
        state.hospital = hospital;
        render();
      },
      onRemoved(version, removed) {
        if (removed !== code) return;
        state.hospital = { ...state.hospital, classes: [], updated_at: null };
        render();
      },
      onState: setConnection,
    });
  }

  start();
})();

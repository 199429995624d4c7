/* Shared by the citizens' page and the dashboard: language, time and DOM helpers. */
"use strict";

(function () {
  const STRINGS = {
    id: {
      brand: "Tempat Tidur RS",
      skip: "Langsung ke daftar rumah sakit",
      heading: "Cari tempat tidur kosong",
      lead: "Jumlah tempat tidur kosong di rumah sakit, dikirim langsung oleh sistem informasi rumah sakit.",
      classLabel: "Kelas perawatan",
      allClasses: "Semua kelas",
      freeByClass: "Tempat kosong per kelas",
      availableOnly: "Hanya yang masih ada tempat kosong",
      locate: "Urutkan dari yang terdekat",
      locating: "Mencari lokasi Anda…",
      located: "Diurutkan dari yang terdekat dengan lokasi Anda.",
      locateFailed: "Lokasi tidak dapat dibaca; daftar diurutkan menurut nama.",
      resultsHeading: "Daftar rumah sakit",
      empty: "Belum ada rumah sakit dengan tempat tidur kosong untuk pilihan ini.",
      loading: "Memuat data…",
      loadFailed: "Data belum dapat dimuat. Mencoba lagi…",
      emergency: "Keadaan darurat? Hubungi",
      emergencyTail: "atau datang langsung ke IGD terdekat.",
      free: "kosong",
      freeOne: "kosong",
      full: "Penuh",
      ofCapacity: "dari {n}",
      updated: "diperbarui {ago}",
      notReported: "belum ada laporan",
      stale: "Data lama",
      staleHint: "Rumah sakit ini belum mengirim data baru; hubungi dulu sebelum datang.",
      call: "Telepon IGD",
      callLabel: "Telepon IGD {name}, {phone}",
      km: "{n} km",
      justNow: "baru saja",
      minutesAgo: "{n} menit lalu",
      hoursAgo: "{n} jam lalu",
      daysAgo: "{n} hari lalu",
      live: "Terhubung",
      liveSse: "Terhubung",
      polling: "Diperbarui berkala",
      offline: "Terputus, menyambung ulang…",
      shown: "{n} rumah sakit ditampilkan.",
      // dashboard
      dashTitle: "Dasbor Dinas Kesehatan",
      skipMain: "Langsung ke isi",
      summaryTitle: "Ringkasan",
      chartLabel: "{hospital}, {cls}: terisi {occupied} dari {capacity} tempat tidur pada akhir rentang.",
      keyLabel: "Kunci API monitor",
      keyHint: "Kunci disimpan hanya selama tab ini terbuka.",
      signIn: "Masuk",
      signOut: "Keluar",
      badKey: "Kunci ditolak. Periksa kunci API monitor Anda.",
      regionLabel: "Wilayah",
      allRegions: "Semua wilayah",
      refresh: "Muat ulang",
      lastRefresh: "Data per {time}",
      capacity: "Kapasitas",
      occupied: "Terisi",
      available: "Kosong",
      bor: "BOR",
      borLong: "Tingkat hunian (BOR)",
      byClass: "Per kelas perawatan",
      byHospital: "Per rumah sakit",
      hospital: "Rumah sakit",
      bedClass: "Kelas",
      updatedCol: "Laporan terakhir",
      staleTitle: "Belum melapor",
      staleEmpty: "Semua rumah sakit melapor tepat waktu.",
      staleSince: "terakhir {ago}",
      neverReported: "belum pernah melapor",
      staleWards: "Ruang: {wards}",
      historyTitle: "Riwayat hunian",
      rangeLabel: "Rentang",
      range24h: "24 jam",
      range7d: "7 hari",
      range30d: "30 hari",
      allHospitals: "Semua rumah sakit",
      downloadCsv: "Unduh CSV",
      chartEmpty: "Belum ada riwayat untuk pilihan ini.",
      alertsTitle: "Peringatan",
      alertsEmpty: "Tidak ada peringatan.",
      alertOpen: "Aktif",
      alertResolved: "Selesai",
      alertClassExhausted: "Tidak ada tempat tidur {cls} kosong di wilayah {region}",
      alertHospitalStale: "{name} tidak melapor",
      alertHospitalEscalated: "{name} masih tidak melapor setelah pengingat kedua",
      alertDelivered: "Webhook: {ok}/{n} terkirim",
      exportsTitle: "Ekspor untuk sistem lain",
      exportsLead: "Data saat ini dalam format standar, untuk wilayah yang dipilih.",
    },
    en: {
      brand: "Hospital Beds",
      skip: "Skip to the hospital list",
      heading: "Find a free hospital bed",
      lead: "Free beds at hospitals, sent directly by the hospitals' information systems.",
      classLabel: "Ward class",
      allClasses: "All classes",
      freeByClass: "Free beds by class",
      availableOnly: "Only hospitals with free beds",
      locate: "Sort nearest first",
      locating: "Finding your location…",
      located: "Sorted nearest first from your location.",
      locateFailed: "Your location could not be read; the list is sorted by name.",
      resultsHeading: "Hospitals",
      empty: "No hospital has a free bed for this choice yet.",
      loading: "Loading…",
      loadFailed: "The data could not be loaded. Retrying…",
      emergency: "Emergency? Call",
      emergencyTail: "or go straight to the nearest emergency department.",
      free: "free",
      freeOne: "free",
      full: "Full",
      ofCapacity: "of {n}",
      updated: "updated {ago}",
      notReported: "no report yet",
      stale: "Outdated",
      staleHint: "This hospital has not sent new data; call before you go.",
      call: "Call ER",
      callLabel: "Call the emergency department of {name}, {phone}",
      km: "{n} km",
      justNow: "just now",
      minutesAgo: "{n} min ago",
      hoursAgo: "{n} h ago",
      daysAgo: "{n} days ago",
      live: "Live",
      liveSse: "Live",
      polling: "Refreshed periodically",
      offline: "Disconnected, reconnecting…",
      shown: "{n} hospitals shown.",
      dashTitle: "Health Office Dashboard",
      skipMain: "Skip to content",
      summaryTitle: "Summary",
      chartLabel: "{hospital}, {cls}: {occupied} of {capacity} beds occupied at the end of the range.",
      keyLabel: "Monitor API key",
      keyHint: "The key is kept only while this tab is open.",
      signIn: "Sign in",
      signOut: "Sign out",
      badKey: "Key refused. Check your monitor API key.",
      regionLabel: "Region",
      allRegions: "All regions",
      refresh: "Refresh",
      lastRefresh: "Data as of {time}",
      capacity: "Capacity",
      occupied: "Occupied",
      available: "Free",
      bor: "BOR",
      borLong: "Bed occupancy rate (BOR)",
      byClass: "By ward class",
      byHospital: "By hospital",
      hospital: "Hospital",
      bedClass: "Class",
      updatedCol: "Last report",
      staleTitle: "Not reporting",
      staleEmpty: "Every hospital is reporting on time.",
      staleSince: "last {ago}",
      neverReported: "never reported",
      staleWards: "Wards: {wards}",
      historyTitle: "Occupancy history",
      rangeLabel: "Range",
      range24h: "24 hours",
      range7d: "7 days",
      range30d: "30 days",
      allHospitals: "All hospitals",
      downloadCsv: "Download CSV",
      chartEmpty: "No history for this choice yet.",
      alertsTitle: "Alerts",
      alertsEmpty: "No alerts.",
      alertOpen: "Open",
      alertResolved: "Resolved",
      alertClassExhausted: "No free {cls} bed in region {region}",
      alertHospitalStale: "{name} is not reporting",
      alertHospitalEscalated: "{name} is still not reporting after a second reminder",
      alertDelivered: "Webhook: {ok}/{n} delivered",
      exportsTitle: "Exports for other systems",
      exportsLead: "Current data in standard formats, for the selected region.",
    },
  };

  const LANG_KEY = "bedsvc.lang";
  let lang = localStorage.getItem(LANG_KEY) === "en" ? "en" : "id";
  const listeners = [];

  function t(key, vars) {
    let text = (STRINGS[lang] && STRINGS[lang][key]) || STRINGS.id[key] || key;
    if (vars) {
      for (const [name, value] of Object.entries(vars)) text = text.replaceAll(`{${name}}`, value);
    }
    return text;
  }

  function applyStatic(root) {
    document.documentElement.lang = lang;
    for (const el of (root || document).querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
    for (const el of (root || document).querySelectorAll("[data-i18n-aria]")) el.setAttribute("aria-label", t(el.dataset.i18nAria));
    for (const button of document.querySelectorAll("[data-lang]")) {
      button.setAttribute("aria-pressed", String(button.dataset.lang === lang));
    }
  }

  function setLang(next) {
    lang = next === "en" ? "en" : "id";
    localStorage.setItem(LANG_KEY, lang);
    applyStatic();
    for (const listener of listeners) listener(lang);
  }

  function initLanguage(onChange) {
    if (onChange) listeners.push(onChange);
    for (const button of document.querySelectorAll("[data-lang]")) {
      button.addEventListener("click", () => setLang(button.dataset.lang));
    }
    applyStatic();
  }

  function ago(iso, now) {
    if (!iso) return t("notReported");
    const seconds = Math.max(0, ((now || Date.now()) - Date.parse(iso)) / 1000);
    if (seconds < 60) return t("justNow");
    if (seconds < 3600) return t("minutesAgo", { n: Math.floor(seconds / 60) });
    if (seconds < 86400) return t("hoursAgo", { n: Math.floor(seconds / 3600) });
    return t("daysAgo", { n: Math.floor(seconds / 86400) });
  }

  function number(value, digits) {
    return new Intl.NumberFormat(lang === "en" ? "en-GB" : "id-ID", {
      maximumFractionDigits: digits || 0,
      minimumFractionDigits: digits || 0,
    }).format(value);
  }

  function percent(ratio) {
    return ratio === null || ratio === undefined ? "–" : `${number(ratio * 100, 1)}%`;
  }

  function dateTime(iso, withDate) {
    const options = withDate
      ? { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" }
      : { hour: "2-digit", minute: "2-digit" };
    return new Intl.DateTimeFormat(lang === "en" ? "en-GB" : "id-ID", options).format(new Date(iso));
  }

  /** el("p", {class: "x", text: "..."}, child, ...): DOM without innerHTML, so data is never markup. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "text") node.textContent = value;
      else if (name === "class") node.className = value;
      else node.setAttribute(name, value === true ? "" : value);
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (name === "text") node.textContent = value;
      else node.setAttribute(name, value);
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }

  function className(bedClasses, code) {
    const known = bedClasses.get(code);
    if (!known) return code;
    return lang === "en" ? known.name_en : known.name_id;
  }

  const ANDROID = /Android/i.test(navigator.userAgent);

  /** Where directions to a hospital open: Android's own maps app through geo:, a web map's
   * directions everywhere else (a desktop has nothing that opens geo:). */
  function directionsHref(hospital) {
    const at = `${hospital.lat},${hospital.lon}`;
    if (ANDROID) return `geo:${at}?q=${at}(${encodeURIComponent(hospital.name)})`;
    return `https://www.google.com/maps/dir/?api=1&destination=${encodeURIComponent(at)}`;
  }

  async function fetchBedClasses() {
    const response = await fetch("/api/v1/bed-classes");
    if (!response.ok) throw new Error(`bed classes: HTTP ${response.status}`);
    const list = await response.json();
    return new Map(list.map((c) => [c.code, c]));
  }

  window.Bedsvc = {
    t, ago, number, percent, dateTime, el, svg, className, fetchBedClasses, initLanguage,
    directionsHref, opensInApp: ANDROID,
    get lang() { return lang; },
  };
})();

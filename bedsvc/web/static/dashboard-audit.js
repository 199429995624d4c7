/* The dashboard's audit trail: who (API key or ward-staff user) changed which ward, when,
 * from what to what; registry, key and user changes. Loads when the dashboard opens (the
 * monitor key in sessionStorage) and on its own refresh button. */
"use strict";

(function () {
  const B = window.Bedsvc;
  const { el } = B;
  const $ = (id) => document.getElementById(id);

  const ACTIONS = {
    report: "Laporan ruang", close: "Ruang ditutup", "hospital.save": "Registri diubah",
    "key.issue": "Kunci diterbitkan", "key.revoke": "Kunci dicabut",
    "user.add": "Pengguna dibuat", "user.disable": "Pengguna dinonaktifkan",
    "aplicares.issue": "Kredensial Aplicares diterbitkan", "aplicares.revoke": "Kredensial Aplicares dicabut",
    "sirs.issue": "Kata sandi SIRS diterbitkan", "sirs.revoke": "Kata sandi SIRS dicabut",
  };

  function who(entry) {
    if (entry.username) return `petugas ${entry.username}`;
    if (entry.key_id) return `kunci ${entry.key_id}`;
    return "operator (CLI)";
  }

  function counts(c) {
    if (!c) return "–";
    let text = `${c.available}/${c.capacity} kosong`;
    if (c.waiting !== null) text += `, ${c.waiting} antrean`;
    return text;
  }

  function change(entry) {
    if (entry.action === "report" || entry.action === "close") {
      return `${entry.ward_code} (${entry.bed_class}): ${counts(entry.before)} → ${entry.after ? counts(entry.after) : "ditutup"}`;
    }
    return entry.subject;
  }

  async function load() {
    const key = sessionStorage.getItem("bedsvc.monitorKey");
    const body = $("audit-rows");
    if (!key || !body) return;
    const url = new URL("/api/v1/monitor/audit", location.href);
    url.searchParams.set("limit", "100");
    if ($("audit-hospital").value) url.searchParams.set("hospital", $("audit-hospital").value.trim());
    try {
      const response = await fetch(url, { headers: { Authorization: `Bearer ${key}` }, cache: "no-store" });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const trail = await response.json();
      body.replaceChildren(...trail.entries.map((entry) => el("tr", { "data-action": entry.action },
        el("td", { text: B.dateTime(entry.at, true) }),
        el("td", { text: who(entry) }),
        el("td", { text: entry.hospital_code || "–" }),
        el("td", { text: ACTIONS[entry.action] || entry.action }),
        el("td", { text: change(entry) }))));
      $("audit-empty").hidden = trail.entries.length > 0;
    } catch (error) {
      body.replaceChildren();
      $("audit-empty").hidden = false;
    }
  }

  function start() {
    const board = $("board");
    if (!board) return;
    $("audit-form").addEventListener("submit", (event) => { event.preventDefault(); load(); });
    // dashboard.js shows the board after sign-in: load then.
    new MutationObserver(() => { if (!board.hidden) load(); }).observe(board, { attributes: true, attributeFilter: ["hidden"] });
    if (!board.hidden) load();
  }

  start();
})();

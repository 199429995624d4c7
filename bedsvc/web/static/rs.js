/* The ward-staff entry page /rs: sign in, change the free beds and queue of the hospital's
 * wards, save them as one report; add, close, or upload wards as CSV.
 *
 * The session cookie is HttpOnly; every change sends the CSRF token that sign-in returned.
 * Reports carry the server's clock (from the Date header), not the phone's, so a phone whose
 * clock is wrong neither files reports in the future nor has them refused as stale.
 *
 * Every refusal is shown in Bahasa Indonesia next to the field it concerns: the server's
 * problem+json names fields (`wards[0].capacity`) in English; `fieldProblem` words them for
 * ward staff from the field and the numbers in the reason.
 */
"use strict";

(function () {
  const { el } = window.Bedsvc;
  const $ = (id) => document.getElementById(id);

  const body = document.body;
  const STALE_AFTER_MS = Number(body.dataset.staleAfter || 1800) * 1000;
  const MAX_CAPACITY = Number(body.dataset.maxCapacity || 500);

  const state = {
    session: null,
    wards: new Map(),      // ward_code -> the ward as last saved (or loaded)
    bedClasses: new Map(),
    clockOffset: 0,
  };

  const FIELDS = [
    { key: "available", label: "Kosong" },
    { key: "waiting", label: "Antrean" },
    { key: "available_male", label: "Kosong laki-laki", bySex: true },
    { key: "available_female", label: "Kosong perempuan", bySex: true },
  ];

  // ---- server ---------------------------------------------------------------------------

  function noteClock(response) {
    const date = Date.parse(response.headers.get("Date") || "");
    if (!Number.isNaN(date)) state.clockOffset = date - Date.now();
  }

  function serverNow() {
    return new Date(Date.now() + state.clockOffset);
  }

  async function call(method, path, body, contentType) {
    const headers = {};
    if (state.session && method !== "GET") headers["X-CSRF-Token"] = state.session.csrf_token;
    if (body !== undefined) headers["Content-Type"] = contentType || "application/json";
    const response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : (contentType ? body : JSON.stringify(body)),
      cache: "no-store",
      credentials: "same-origin",
    });
    noteClock(response);
    let data = null;
    try { data = await response.json(); } catch (error) { data = null; }
    if (response.status === 401 && path !== "/api/v1/session") signedOut("Sesi Anda berakhir. Silakan masuk lagi.");
    return { status: response.status, ok: response.ok, data };
  }

  function problemText(result) {
    if (result.status === 0) return "Tidak tersambung ke server. Periksa jaringan lalu coba lagi.";
    if (result.status === 403) return "Ditolak: akun ini tidak boleh mengubah data rumah sakit ini.";
    if (result.status === 404) return "Rumah sakit tidak ditemukan atau tidak aktif.";
    if (result.status === 413) return "Berkas atau isian terlalu besar.";
    if (result.status === 429) return "Terlalu banyak percobaan. Tunggu sebentar lalu coba lagi.";
    if (result.status >= 500) return "Server sedang bermasalah. Data belum tersimpan; coba lagi.";
    if (result.status === 422) return "Isian ditolak. Periksa yang ditandai lalu coba lagi.";
    return `Gagal (HTTP ${result.status}). Coba lagi.`;
  }

  const FIELD_LABELS = {
    ward_code: "Kode ruang", name: "Nama ruang", bed_class: "Kelas", capacity: "Jumlah tempat tidur",
    available: "Kosong", available_male: "Kosong laki-laki", available_female: "Kosong perempuan",
    waiting: "Antrean",
  };

  // A server refusal of one field, in the words ward staff read.
  function fieldProblem(field, reason) {
    const numbers = (reason.match(/\d+/g) || []).map(Number);
    if (/not exceed capacity/.test(reason)) return `Tempat kosong tidak boleh lebih dari kapasitas (${numbers[0]}).`;
    if (/beds per ward|at most \d+ beds/.test(reason)) return `Paling banyak ${numbers[0]} tempat tidur per ruang.`;
    if (/available_male \+ available_female/.test(reason)) return "Kosong laki-laki + perempuan tidak boleh lebih dari jumlah kosong.";
    if (/unknown bed class/.test(reason)) return "Kelas ini tidak dikenal. Pilih kelas dari daftar.";
    if (/listed twice/.test(reason)) return "Kode ruang ini tercantum dua kali.";
    if (/open wards|at most \d+ wards/.test(reason)) return "Rumah sakit ini sudah mencapai batas jumlah ruang.";
    if (field === "reported_at") return "Jam server dan perangkat tidak cocok. Muat ulang halaman lalu coba lagi.";
    if (/Expected `int`|>= 0|<= \d+/.test(reason)) {
      const max = /<= (\d+)/.exec(reason);
      return max ? `Harus bilangan bulat 0 sampai ${max[1]}.` : "Harus bilangan bulat 0 atau lebih.";
    }
    if (field === "ward_code") return "Kode ruang: huruf, angka, titik, garis bawah atau tanda hubung (paling banyak 64).";
    if (/length|Expected `str`/.test(reason)) return `${FIELD_LABELS[field] || "Isian"} terlalu panjang atau tidak sah.`;
    return `${FIELD_LABELS[field] || "Isian"} ditolak server. Periksa lalu coba lagi.`;
  }

  // The refusals of a report, by ward index and field: [{index, field, text}].
  function refusals(result) {
    const found = [];
    for (const error of (result.data && result.data.errors) || []) {
      const match = /^wards\[(\d+)\]\.?(\w*)/.exec(error.field);
      if (match) found.push({ index: Number(match[1]), field: match[2], text: fieldProblem(match[2], error.reason) });
      else found.push({ index: null, field: error.field, text: fieldProblem(error.field, error.reason) });
    }
    return found;
  }

  async function safeCall(...args) {
    try {
      return await call(...args);
    } catch (error) {
      return { status: 0, ok: false, data: null };
    }
  }

  // ---- sign in / out --------------------------------------------------------------------

  function showMessage(node, text, kind) {
    node.textContent = text || "";
    node.hidden = !text;
    node.classList.toggle("message-error", kind === "error");
    node.classList.toggle("message-ok", kind === "ok");
  }

  function signedOut(reason) {
    state.session = null;
    $("entry-section").hidden = true;
    $("sign-out").hidden = true;
    $("sign-in-section").hidden = false;
    showMessage($("sign-in-error"), reason || "", "error");
  }

  async function signIn(event) {
    event.preventDefault();
    const username = $("username").value.trim();
    const password = $("password").value;
    if (!username || !password) {
      showMessage($("sign-in-error"), "Isi nama pengguna dan kata sandi.", "error");
      return;
    }
    const result = await safeCall("POST", "/api/v1/session", { username, password });
    if (!result.ok) {
      const text = result.status === 401 ? "Nama pengguna atau kata sandi salah."
        : result.status === 403 ? "Akun ini dinonaktifkan. Hubungi operator Dinas Kesehatan."
          : problemText(result);
      showMessage($("sign-in-error"), text, "error");
      $("password").select();
      return;
    }
    $("password").value = "";
    await enter(result.data);
  }

  async function signOut() {
    await safeCall("DELETE", "/api/v1/session");
    signedOut("");
    $("username").focus();
  }

  async function enter(session) {
    state.session = session;
    $("sign-in-section").hidden = true;
    $("entry-section").hidden = false;
    $("sign-out").hidden = false;
    showMessage($("sign-in-error"), "");
    $("hospital-name").textContent = session.hospital.name;
    $("signed-in-as").textContent = `Masuk sebagai ${session.username}`;
    await loadWards();
    $("main").focus();
  }

  // ---- wards ----------------------------------------------------------------------------

  async function loadWards() {
    const result = await safeCall("GET", `/api/v1/hospitals/${encodeURIComponent(state.session.hospital.code)}`);
    if (!result.ok) {
      showMessage($("save-message"), problemText(result), "error");
      return;
    }
    state.wards = new Map(result.data.wards.map((w) => [w.ward_code, w]));
    renderWards();
    watchRelay(result.data.version);
  }

  // ---- relay to SIRS Online and Aplicares --------------------------------------------------

  const RELAY_POLL_MS = 2000;
  const RELAY_WATCH_MS = 120000;
  let relayWatch = null;

  /* Whether the last save reached both registries: polled until every relay that is on has
   * sent `version` (or failed), for two minutes at most. */
  async function watchRelay(version) {
    clearTimeout(relayWatch);
    const until = Date.now() + RELAY_WATCH_MS;
    const poll = async () => {
      const result = await safeCall("GET", `/api/v1/hospitals/${encodeURIComponent(state.session.hospital.code)}/relay`);
      if (!result.ok) return;
      const relays = result.data.relays.filter((relay) => relay.state !== "off");
      const node = $("relay-status");
      node.hidden = !relays.length;
      node.replaceChildren(...relays.map((relay) => el("span", {
        class: `relay relay-${relay.state}`, "data-registry": relay.registry, text: window.BedsvcRelay.describe(relay),
      })));
      const settled = relays.every((relay) => relay.state === "failing" || (relay.sent_version || 0) >= version);
      if (!settled && Date.now() < until) relayWatch = setTimeout(poll, RELAY_POLL_MS);
    };
    await poll();
  }

  function className(code) {
    const known = state.bedClasses.get(code);
    return known ? known.name_id : code;
  }

  function wardName(ward) {
    return ward.name || ward.ward_code;
  }

  function stepper(ward, field) {
    const id = `ward-${ward.ward_code}-${field.key}`;
    const input = el("input", {
      id, type: "number", inputmode: "numeric", min: "0", max: String(ward.capacity),
      value: ward[field.key] === null || ward[field.key] === undefined ? "" : String(ward[field.key]),
      "data-field": field.key,
    });
    const step = (delta) => {
      const current = Number(input.value || 0);
      input.value = String(Math.max(0, Math.min(ward.capacity, current + delta)));
      input.dispatchEvent(new Event("input", { bubbles: true }));
    };
    // The queue may exceed the beds: only the bed counts are capped at the capacity.
    if (field.key === "waiting") input.removeAttribute("max");
    input.setAttribute("aria-describedby", `${id}-error`);
    const minus = el("button", { type: "button", class: "step", "aria-label": `Kurangi ${field.label.toLowerCase()} ${wardName(ward)}`, text: "−" });
    const plus = el("button", { type: "button", class: "step", "aria-label": `Tambah ${field.label.toLowerCase()} ${wardName(ward)}`, text: "+" });
    minus.addEventListener("click", () => step(-1));
    plus.addEventListener("click", () => {
      if (field.key === "waiting") {
        input.value = String(Number(input.value || 0) + 1);
        input.dispatchEvent(new Event("input", { bubbles: true }));
      } else step(1);
    });
    return el("div", { class: "stepper-field", "data-field": field.key },
      el("label", { for: id, text: field.label }),
      el("div", { class: "stepper" }, minus, input, plus),
      el("p", { class: "field-error", id: `${id}-error`, hidden: true }));
  }

  function age(updatedAt) {
    const minutes = Math.max(0, Math.floor((serverNow() - new Date(updatedAt)) / 60000));
    if (minutes < 1) return "baru saja";
    if (minutes < 60) return `${minutes} menit lalu`;
    const hours = Math.floor(minutes / 60);
    if (hours < 24) return `${hours} jam lalu`;
    return `${Math.floor(hours / 24)} hari lalu`;
  }

  function ageLine(ward) {
    const line = el("p", { class: "ward-age" });
    if (!ward.updated_at) return line;
    const stale = serverNow() - new Date(ward.updated_at) > STALE_AFTER_MS;
    line.append(el("span", { text: `diperbarui ${age(ward.updated_at)}` }));
    if (stale) line.append(" ", el("span", { class: "badge badge-stale", text: "Perlu diperbarui" }));
    line.classList.toggle("ward-age-stale", stale);
    return line;
  }

  function wardItem(ward) {
    const bySex = ward.available_male !== null || ward.available_female !== null;
    const fields = FIELDS.filter((f) => !f.bySex || bySex);
    const message = el("p", { class: "message ward-message", role: "status", "aria-live": "polite", hidden: true });
    const close = el("button", { type: "button", class: "button button-danger button-small", text: "Tutup ruang" });
    close.addEventListener("click", () => closeWard(ward, message));
    // Closing a ward sits behind its own disclosure, well away from the steppers' buttons.
    const more = el("details", { class: "ward-more" },
      el("summary", { text: "Pilihan lain" }),
      el("p", { class: "hint", text: "Ruang yang ditutup tidak tampil lagi sampai dilaporkan kembali." }),
      close);
    const li = el("li", { class: "ward", "data-ward": ward.ward_code },
      el("fieldset", {},
        el("legend", {},
          el("span", { class: "ward-name", text: wardName(ward) }),
          el("span", { class: "ward-meta", text: `${className(ward.bed_class)} · ${ward.ward_code}` })),
        el("p", { class: "ward-capacity", text: `Kapasitas ${ward.capacity} tempat tidur` }),
        ageLine(ward),
        el("div", { class: "steppers" }, ...fields.map((f) => stepper(ward, f))),
        message,
        more));
    li.addEventListener("input", () => li.classList.toggle("ward-changed", changed(ward.ward_code, li)));
    return li;
  }

  function renderWards() {
    const items = [...state.wards.values()].map(wardItem);
    $("wards").replaceChildren(...items);
    $("no-wards").hidden = items.length > 0;
  }

  function valuesOf(li) {
    const values = {};
    for (const input of li.querySelectorAll("input[data-field]")) {
      values[input.dataset.field] = input.value === "" ? null : Number(input.value);
    }
    return values;
  }

  function changed(code, li) {
    const saved = state.wards.get(code);
    const values = valuesOf(li);
    return Object.keys(values).some((key) => values[key] !== saved[key]);
  }

  function wardReport(saved, values) {
    const ward = {
      ward_code: saved.ward_code, name: saved.name, bed_class: saved.bed_class,
      capacity: saved.capacity, available: values.available,
    };
    for (const key of ["available_male", "available_female", "waiting"]) {
      const value = key in values ? values[key] : saved[key];
      if (value !== null && value !== undefined) ward[key] = value;
    }
    return ward;
  }

  function checkWard(ward) {
    if (ward.available === null || !Number.isInteger(ward.available) || ward.available < 0) return "Isi jumlah tempat kosong (0 atau lebih).";
    if (ward.available > ward.capacity) return `Tempat kosong tidak boleh lebih dari kapasitas (${ward.capacity}).`;
    if ((ward.available_male || 0) + (ward.available_female || 0) > ward.available) return "Kosong laki-laki + perempuan tidak boleh lebih dari jumlah kosong.";
    if (ward.waiting !== undefined && (!Number.isInteger(ward.waiting) || ward.waiting < 0)) return "Antrean harus 0 atau lebih.";
    return null;
  }

  function wardItemOf(code) {
    return $("wards").querySelector(`li[data-ward="${CSS.escape(code)}"]`);
  }

  function clearFieldErrors(root) {
    for (const node of root.querySelectorAll(".field-error")) { node.textContent = ""; node.hidden = true; }
    for (const node of root.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
  }

  // Marks one field of a ward (or of the new-ward form) with its refusal; false when the
  // field is not on the page, so the caller shows the text with the ward instead.
  function markField(container, field, text) {
    const input = container.querySelector(`[data-field="${field}"] input, [data-field="${field}"] select`);
    const slot = container.querySelector(`[data-field="${field}"] .field-error`);
    if (!input || !slot) return false;
    input.setAttribute("aria-invalid", "true");
    slot.textContent = text;
    slot.hidden = false;
    return true;
  }

  function wardMessage(code, text, kind) {
    const li = $("wards").querySelector(`li[data-ward="${CSS.escape(code)}"]`);
    if (li) showMessage(li.querySelector(".ward-message"), text, kind);
  }

  function markSaved(when) {
    const time = new Intl.DateTimeFormat("id-ID", { hour: "2-digit", minute: "2-digit", second: "2-digit" }).format(when);
    $("last-save").textContent = `Terakhir disimpan pukul ${time}`;
  }

  async function save(event) {
    event.preventDefault();
    const pending = [];
    let invalid = false;
    for (const li of $("wards").children) {
      const code = li.dataset.ward;
      showMessage(li.querySelector(".ward-message"), "");
      clearFieldErrors(li);
      if (!changed(code, li)) continue;
      const ward = wardReport(state.wards.get(code), valuesOf(li));
      const problem = checkWard(ward);
      if (problem) { wardMessage(code, problem, "error"); invalid = true; }
      pending.push(ward);
    }
    if (invalid) { showMessage($("save-message"), "Perbaiki isian yang ditandai, lalu simpan lagi.", "error"); return; }
    if (!pending.length) { showMessage($("save-message"), "Tidak ada perubahan untuk disimpan.", ""); return; }
    await sendReport(pending, $("save-message"));
  }

  // `newWard`: the add form, whose fields carry the refusals of the one ward it sends.
  async function sendReport(wards, messageNode, newWard) {
    const button = $("save");
    button.disabled = true;
    showMessage(messageNode, "Menyimpan…", "");
    const body = { reported_at: serverNow().toISOString(), wards };
    const result = await safeCall("POST", `/api/v1/hospitals/${encodeURIComponent(state.session.hospital.code)}/occupancy`, body);
    button.disabled = false;
    if (result.status === 422) {
      const general = [];
      for (const refusal of refusals(result)) {
        const ward = refusal.index === null ? null : wards[refusal.index];
        if (newWard) {
          if (!markField(newWard, refusal.field, refusal.text)) general.push(refusal.text);
          continue;
        }
        const li = ward && wardItemOf(ward.ward_code);
        if (li && markField(li, refusal.field, refusal.text)) continue;
        if (ward) wardMessage(ward.ward_code, refusal.text, "error");
        else general.push(refusal.text);
      }
      const lead = newWard ? "Ruang baru belum disimpan." : "Tidak ada yang disimpan: periksa ruang yang ditandai.";
      showMessage(messageNode, [lead, ...general].join(" "), "error");
      return false;
    }
    if (!result.ok) { showMessage(messageNode, problemText(result), "error"); return false; }
    const sent = new Map(wards.map((w) => [w.ward_code, w]));
    for (const code of result.data.applied) {
      const saved = { ...(state.wards.get(code) || {}), available_male: null, available_female: null, waiting: null, ...sent.get(code), updated_at: body.reported_at, stale: false };
      state.wards.set(code, saved);
    }
    const rendered = new Set([...$("wards").children].map((li) => li.dataset.ward));
    const added = result.data.applied.some((code) => !rendered.has(code));
    if (added) renderWards();
    for (const code of result.data.applied) {
      const li = wardItemOf(code);
      if (li) {
        li.classList.remove("ward-changed");
        li.querySelector(".ward-age").replaceWith(ageLine(state.wards.get(code)));
      }
      wardMessage(code, "Tersimpan.", "ok");
    }
    for (const code of result.data.stale) {
      wardMessage(code, "Tidak disimpan: sudah ada laporan yang lebih baru. Angka terbaru dimuat ulang.", "error");
    }
    markSaved(new Date());
    watchRelay(result.data.version);
    const stale = result.data.stale.length;
    showMessage(messageNode, stale ? `${result.data.applied.length} ruang tersimpan, ${stale} tidak.` : `${result.data.applied.length} ruang tersimpan.`, stale ? "error" : "ok");
    if (stale) setTimeout(loadWards, 1500);
    return true;
  }

  async function closeWard(ward, messageNode) {
    if (!window.confirm(`Tutup ${wardName(ward)}? Ruang ini tidak tampil lagi sampai dilaporkan kembali.`)) return;
    const code = state.session.hospital.code;
    const result = await safeCall("DELETE", `/api/v1/hospitals/${encodeURIComponent(code)}/wards/${encodeURIComponent(ward.ward_code)}`);
    if (!result.ok) { showMessage(messageNode, problemText(result), "error"); return; }
    state.wards.delete(ward.ward_code);
    renderWards();
    markSaved(new Date());
    showMessage($("save-message"), `${wardName(ward)} ditutup.`, "ok");
  }

  async function addWard(event) {
    event.preventDefault();
    const form = event.target;
    const data = new FormData(form);
    const ward = {
      ward_code: String(data.get("ward_code") || "").trim(),
      name: String(data.get("name") || "").trim() || null,
      bed_class: String(data.get("bed_class") || ""),
      capacity: data.get("capacity") === "" ? null : Number(data.get("capacity")),
      available: data.get("available") === "" ? null : Number(data.get("available")),
    };
    const message = $("add-message");
    clearFieldErrors(form);
    showMessage(message, "");
    const refuse = (field, text) => {
      markField(form, field, text);
      showMessage(message, "Ruang baru belum disimpan: periksa isian yang ditandai.", "error");
    };
    if (!/^[A-Za-z0-9][\w.\-]*$/.test(ward.ward_code) || ward.ward_code.length > 64) { refuse("ward_code", "Kode ruang: huruf, angka, titik, garis bawah atau tanda hubung (paling banyak 64)."); return; }
    if (state.wards.has(ward.ward_code)) { refuse("ward_code", "Kode ruang ini sudah ada."); return; }
    if (!Number.isInteger(ward.capacity) || ward.capacity < 0) { refuse("capacity", "Isi jumlah tempat tidur (0 atau lebih)."); return; }
    if (ward.capacity > MAX_CAPACITY) { refuse("capacity", `Paling banyak ${MAX_CAPACITY} tempat tidur per ruang.`); return; }
    const problem = checkWard(ward);
    if (problem) { refuse(ward.available === null || ward.available > ward.capacity || ward.available < 0 ? "available" : "capacity", problem); return; }
    if (!ward.name) delete ward.name;
    if (await sendReport([ward], message, form)) form.reset();
  }

  function csvError(error) {
    if (error.line === undefined || error.line === null) return error.reason;
    return `Baris ${error.line}${error.column ? `, kolom ${error.column}` : ""}: ${error.reason}`;
  }

  async function uploadCsv(event) {
    event.preventDefault();
    const file = $("csv-file").files[0];
    const message = $("csv-message");
    if (!file) { showMessage(message, "Pilih berkas CSV.", "error"); return; }
    showMessage(message, "Mengunggah…", "");
    const code = state.session.hospital.code;
    const result = await safeCall("POST", `/api/v1/hospitals/${encodeURIComponent(code)}/occupancy.csv`, await file.text(), "text/csv");
    if (result.status === 422 && result.data && result.data.errors) {
      message.replaceChildren(
        el("p", { text: "Tidak ada yang disimpan. Perbaiki baris berikut:" }),
        el("ul", {}, ...result.data.errors.map((e) => el("li", { text: csvError(e) }))));
      message.hidden = false;
      message.classList.add("message-error");
      message.classList.remove("message-ok");
      return;
    }
    if (!result.ok) { showMessage(message, problemText(result), "error"); return; }
    showMessage(message, `${result.data.applied.length} ruang tersimpan${result.data.stale.length ? `, ${result.data.stale.length} tidak (ada laporan lebih baru)` : ""}.`, "ok");
    markSaved(new Date());
    $("csv-form").reset();
    setTimeout(loadWards, 500);
  }

  // ---- start ----------------------------------------------------------------------------

  async function start() {
    $("sign-in").addEventListener("submit", signIn);
    $("sign-out").addEventListener("click", signOut);
    $("wards-form").addEventListener("submit", save);
    $("add-ward").addEventListener("submit", addWard);
    $("csv-form").addEventListener("submit", uploadCsv);
    $("csv-template").addEventListener("click", () => {
      $("csv-template").href = `/api/v1/hospitals/${encodeURIComponent(state.session.hospital.code)}/occupancy.csv`;
    });
    try {
      state.bedClasses = await window.Bedsvc.fetchBedClasses();
    } catch (error) {
      state.bedClasses = new Map();
    }
    $("new-class").replaceChildren(...[...state.bedClasses.values()].map((c) => el("option", { value: c.code, text: c.name_id })));
    // The ages ("diperbarui 12 menit lalu") move on while the page stays open.
    setInterval(() => {
      for (const li of $("wards").children) {
        const ward = state.wards.get(li.dataset.ward);
        const line = li.querySelector(".ward-age");
        if (ward && line) line.replaceWith(ageLine(ward));
      }
    }, 30000);
    const result = await safeCall("GET", "/api/v1/session");
    if (result.ok) await enter(result.data);
    else signedOut("");
  }

  start();
})();

/* How a hospital's relays to the national registries stand, in words: shared by the health
 * office's dashboard and the ward-staff page. The failure words match bedsvc/relay/words.py. */
"use strict";

(function () {
  const B = window.Bedsvc;
  const WORDS = {
    id: {
      current: "terkirim {ago}",
      pending: "menunggu dikirim",
      pendingSince: "menunggu dikirim (terakhir terkirim {ago})",
      failing: "gagal: {error}",
      off: "tidak diteruskan",
      credential_refused: "kata sandi ditolak",
      unreachable: "server registri tidak terjangkau",
      timeout: "registri tidak menjawab tepat waktu",
      server_error: "registri sedang bermasalah",
      rate_limited: "registri meminta menunggu",
      rejected: "data ditolak registri",
      invalid_response: "jawaban registri tidak dikenali",
      no_ppk_code: "kode PPK BPJS rumah sakit belum diisi",
      secret_key: "kunci enkripsi bedsvc tidak cocok",
    },
    en: {
      current: "sent {ago}",
      pending: "waiting to be sent",
      pendingSince: "waiting to be sent (last sent {ago})",
      failing: "failed: {error}",
      off: "not relayed",
      credential_refused: "password refused",
      unreachable: "registry unreachable",
      timeout: "registry did not answer in time",
      server_error: "registry failing",
      rate_limited: "registry asked to wait",
      rejected: "data refused by the registry",
      invalid_response: "unrecognised answer from the registry",
      no_ppk_code: "the hospital's BPJS PPK code is missing",
      secret_key: "bedsvc's encryption key does not match",
    },
  };

  function word(key, vars) {
    const words = WORDS[document.documentElement.lang === "en" ? "en" : "id"];
    let text = words[key] || WORDS.id[key] || key;
    for (const [name, value] of Object.entries(vars || {})) text = text.replaceAll(`{${name}}`, value);
    return text;
  }

  /* "SIRS Online: terkirim 1 menit lalu", "Aplicares: gagal: kata sandi ditolak". */
  function describe(relay) {
    let text;
    if (relay.state === "current") text = word("current", { ago: B.ago(relay.last_sent_at) });
    else if (relay.state === "failing") text = word("failing", { error: word(relay.last_error || "rejected") });
    else if (relay.state === "pending") text = relay.last_sent_at ? word("pendingSince", { ago: B.ago(relay.last_sent_at) }) : word("pending");
    else text = word("off");
    return `${relay.registry_name}: ${text}`;
  }

  function byHospital(relays) {
    const found = new Map();
    for (const relay of relays) {
      if (!found.has(relay.hospital_code)) found.set(relay.hospital_code, []);
      found.get(relay.hospital_code).push(relay);
    }
    return found;
  }

  window.BedsvcRelay = { describe, byHospital };
})();

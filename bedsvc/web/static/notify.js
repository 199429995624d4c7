/* "Kabari saya": notify-when-free on a full class's card. Subscribes the browser to Web Push
 * with the service's VAPID key and asks bedsvc to push once when a bed of the class frees at
 * that hospital (POST /api/v1/notifications); the service worker shows the notification.
 */
"use strict";

(function () {
  const B = window.Bedsvc;
  const { el } = B;

  const STRINGS = {
    id: {
      notify: "Kabari saya", notifyLabel: "Kabari saya saat ada tempat kosong di {name}",
      notifyOn: "Anda akan dikabari satu kali saat ada tempat kosong (paling lama 24 jam).",
      notifyFree: "Sudah ada tempat kosong sekarang.", notifyDenied: "Izin notifikasi ditolak di browser ini.",
      notifyUnsupported: "Browser ini tidak dapat menerima notifikasi.", notifyFailed: "Belum berhasil. Coba lagi.",
    },
    en: {
      notify: "Notify me", notifyLabel: "Notify me when a bed is free at {name}",
      notifyOn: "You will be notified once when a bed frees (within 24 hours).",
      notifyFree: "A bed is free now.", notifyDenied: "Notifications are blocked in this browser.",
      notifyUnsupported: "This browser cannot receive notifications.", notifyFailed: "That did not work. Try again.",
    },
  };

  function s(key, vars) {
    let text = (STRINGS[B.lang] || STRINGS.id)[key] || STRINGS.id[key];
    for (const [name, value] of Object.entries(vars || {})) text = text.replaceAll(`{${name}}`, value);
    return text;
  }

  function keyBytes(base64url) {
    const text = atob(base64url.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (base64url.length % 4)) % 4));
    return Uint8Array.from(text, (c) => c.charCodeAt(0));
  }

  async function browserSubscription() {
    const registration = await navigator.serviceWorker.ready;
    const response = await fetch("/api/v1/notifications/key");
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const key = keyBytes((await response.json()).public_key);
    const options = { userVisibleOnly: true, applicationServerKey: key };
    try {
      return await registration.pushManager.subscribe(options);
    } catch (error) {
      // Subscribed before with another key (the service's key was replaced): start again.
      const old = await registration.pushManager.getSubscription();
      if (!old) throw error;
      await old.unsubscribe();
      return registration.pushManager.subscribe(options);
    }
  }

  async function subscribe(hospital, classes, note) {
    if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
      note.textContent = s("notifyUnsupported");
      return;
    }
    if (await Notification.requestPermission() !== "granted") { note.textContent = s("notifyDenied"); return; }
    try {
      const subscription = (await browserSubscription()).toJSON();
      const answers = await Promise.all(classes.map((bedClass) => fetch("/api/v1/notifications", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ subscription, hospital_code: hospital.code, bed_class: bedClass }),
      })));
      if (answers.some((r) => r.status === 409)) note.textContent = s("notifyFree");
      else if (answers.every((r) => r.ok)) note.textContent = s("notifyOn");
      else note.textContent = s("notifyFailed");
    } catch (error) {
      note.textContent = s("notifyFailed");
    }
  }

  /** The button on a card whose `classes` (codes) are full at `hospital`. */
  function button(hospital, classes) {
    const note = el("span", { class: "notify-note", role: "status" });
    const press = el("button", {
      type: "button", class: "button button-small button-notify",
      "aria-label": s("notifyLabel", { name: hospital.name }), "data-classes": classes.join(","),
    },
    B.svg("svg", { class: "icon", viewBox: "0 0 24 24", "aria-hidden": "true" },
      B.svg("path", { d: "M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22zm7-6V11a7 7 0 0 0-5.5-6.84V3a1.5 1.5 0 0 0-3 0v1.16A7 7 0 0 0 5 11v5l-2 2v1h18v-1z" })),
    el("span", { text: s("notify") }));
    press.addEventListener("click", () => subscribe(hospital, classes, note));
    return el("span", { class: "notify" }, press, note);
  }

  window.BedsvcNotify = { button };
})();

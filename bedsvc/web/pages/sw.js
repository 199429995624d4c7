/* Service worker of the citizens' page and the map: the pages and their files from the cache
 * when the network fails, and the last availability data, marked so that a page can say it is
 * offline and how old the data is; Web Push notifications (notify-when-free). Live streams and
 * everything else pass through.
 *
 * The data is kept from the first visit: the install step stores the current documents, and
 * the page replaces the availability document with what it last showed (cache "bedsvc-data").
 */
"use strict";

// Named after the release's files: a new release installs a new cache and drops the old one.
const CACHE = "bedsvc-citizen {{asset:citizen.js}} {{asset:citizen-more.js}} {{asset:peta.js}}";
const DATA_CACHE = "bedsvc-data";
const SHELL = [
  "/",
  "/peta",
  "{{asset:style.css}}",
  "{{asset:citizen-more.css}}",
  "{{asset:common.js}}",
  "{{asset:needs.js}}",
  "{{asset:citizen.js}}",
  "{{asset:citizen-more.js}}",
  "{{asset:notify.js}}",
  "{{asset:peta.js}}",
  "{{asset:peta.css}}",
  "{{asset:leaflet/leaflet.js}}",
  "{{asset:leaflet/leaflet.css}}",
  "{{asset:favicon.svg}}",
];
const DATA = ["/api/v1/availability", "/api/v1/bed-classes", "/api/v1/regions", "/api/v1/bpjs-partners"];

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    await (await caches.open(CACHE)).addAll(SHELL);
    // The data as of now: a visit that ends before the page stored its own still has it.
    const data = await caches.open(DATA_CACHE);
    await Promise.all(DATA.map((path) => fetch(path).then((r) => (r.ok ? data.put(path, r) : null), () => null)));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name !== CACHE && name !== DATA_CACHE) await caches.delete(name);
    await self.clients.claim();
  })());
});

async function networkFirst(request, cacheName, cacheKey) {
  const cache = await caches.open(cacheName);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(cacheKey, response.clone());
    return response;
  } catch (error) {
    const cached = await cache.match(cacheKey);
    if (!cached) throw error;
    // The page tells the citizen it is offline from this header.
    const headers = new Headers(cached.headers);
    headers.set("X-Bedsvc-Offline", "1");
    return new Response(cached.body, { status: cached.status, statusText: cached.statusText, headers });
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== location.origin) return;
  if (request.mode === "navigate" && (url.pathname === "/" || url.pathname === "/peta")) {
    event.respondWith(networkFirst(request, CACHE, url.pathname));
  } else if (url.pathname.startsWith("/static/")) {
    event.respondWith(caches.match(request).then((hit) => hit || fetch(request)));
  } else if (DATA.includes(url.pathname)) {
    // One cached copy per query: the page asks with the region it shows.
    event.respondWith(networkFirst(request, DATA_CACHE, url.pathname + url.search));
  }
});

// ---- notify-when-free ------------------------------------------------------------------

self.addEventListener("push", (event) => {
  let message = {};
  try { message = event.data ? event.data.json() : {}; } catch (error) { message = {}; }
  const title = message.title || "Tempat tidur kosong";
  event.waitUntil(self.registration.showNotification(title, {
    body: message.body || "",
    icon: "{{asset:icon-192.png}}",
    badge: "{{asset:icon-192.png}}",
    tag: `bedsvc-${message.hospital_code || ""}-${message.bed_class || ""}`,
    data: { url: message.url || "/" },
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = new URL(event.notification.data && event.notification.data.url || "/", location.origin).href;
  event.waitUntil((async () => {
    for (const client of await self.clients.matchAll({ type: "window", includeUncontrolled: true })) {
      if (client.url === target && "focus" in client) return client.focus();
    }
    return self.clients.openWindow(target);
  })());
});

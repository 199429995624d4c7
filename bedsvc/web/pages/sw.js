/* Service worker of the citizens' page: the page and its files from the cache when the
 * network fails, and the last availability data it fetched, marked so that the page can say
 * it is offline and how old the data is. Live streams and everything else pass through. */
"use strict";

// Named after the release's files: a new release installs a new cache and drops the old one.
const CACHE = "bedsvc-citizen {{asset:citizen.js}} {{asset:citizen-more.js}}";
const SHELL = [
  "/",
  "{{asset:style.css}}",
  "{{asset:common.js}}",
  "{{asset:citizen.js}}",
  "{{asset:citizen-more.js}}",
  "{{asset:favicon.svg}}",
];
const DATA = ["/api/v1/availability", "/api/v1/bed-classes", "/api/v1/regions", "/api/v1/bpjs-partners"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
    await self.clients.claim();
  })());
});

async function networkFirst(request, cacheKey) {
  const cache = await caches.open(CACHE);
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
  if (request.mode === "navigate" && url.pathname === "/") {
    event.respondWith(networkFirst(request, "/"));
  } else if (url.pathname.startsWith("/static/")) {
    event.respondWith(caches.match(request).then((hit) => hit || fetch(request)));
  } else if (DATA.includes(url.pathname)) {
    // One cached copy per query: the page asks with the region it shows.
    event.respondWith(networkFirst(request, url.pathname + url.search));
  }
});

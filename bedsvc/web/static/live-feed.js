/* The live availability feed for the lobby board, in one place so that a change of the
 * stream's transport or frame shape is a change here only.
 *
 * Today: Server-Sent Events from /api/v1/live/events with the frames of docs/architecture.md "Live
 * availability" (a snapshot, then frames of changes). The caller gets plain callbacks:
 *   Bedsvc.liveFeed({region, onSnapshot(version, hospitals), onHospital(version, hospital),
 *                    onRemoved(version, code), onState("live" | "reconnecting")})
 * and a stop() function back.
 */
"use strict";

(function () {
  function liveFeed(options) {
    let source = null;
    let retryTimer = null;
    let backoff = 1000;
    let version = -1;
    let stopped = false;

    function handle(message) {
      if (!message || typeof message !== "object") return;
      if (message.type === "snapshot") {
        version = message.version;
        options.onSnapshot(message.version, message.hospitals || []);
      } else if (message.type === "changes" && message.version >= version) {
        // (A frame that only turns stale flags keeps the version it had.)
        version = message.version;
        for (const hospital of message.hospitals || []) options.onHospital(version, hospital);
        for (const code of message.removed || []) options.onRemoved(version, code);
      }
    }

    function connect() {
      if (stopped) return;
      const url = new URL("/api/v1/live/events", location.href);
      if (options.region) url.searchParams.set("region", options.region);
      source = new EventSource(url);
      const onData = (event) => {
        try { handle(JSON.parse(event.data)); } catch (error) { /* not a message of ours */ }
      };
      source.onmessage = onData;
      for (const type of ["snapshot", "changes"]) source.addEventListener(type, onData);
      source.onopen = () => { backoff = 1000; options.onState("live"); };
      source.onerror = () => {
        options.onState("reconnecting");
        if (source.readyState !== EventSource.CLOSED) return; // the browser retries by itself
        source.close();
        clearTimeout(retryTimer);
        retryTimer = setTimeout(connect, backoff);
        backoff = Math.min(backoff * 2, 30000);
      };
    }

    connect();
    return function stop() {
      stopped = true;
      clearTimeout(retryTimer);
      if (source) source.close();
    };
  }

  window.Bedsvc = window.Bedsvc || {};
  window.Bedsvc.liveFeed = liveFeed;
})();

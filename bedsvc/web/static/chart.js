/* A small line chart in hand-written SVG: occupied beds (filled) against capacity (dashed). */
"use strict";

(function () {
  const B = window.Bedsvc;
  const W = 760, H = 260, LEFT = 46, RIGHT = 12, TOP = 12, BOTTOM = 30;

  function niceMax(value) {
    if (value <= 5) return 5;
    const magnitude = 10 ** Math.floor(Math.log10(value));
    for (const step of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) {
      if (step * magnitude >= value) return step * magnitude;
    }
    return 10 * magnitude;
  }

  /** A stepped line: each bucket's value holds until the next bucket's, the last one until
   * the end of its bucket (`end`), so a single bucket is a flat step, not a slope. */
  function path(points, x, y, key, end) {
    return points.map((p, i) => (i
      ? `H${x(p.time).toFixed(1)}V${y(p[key]).toFixed(1)}`
      : `M${x(p.time).toFixed(1)},${y(p[key]).toFixed(1)}`)).join("") + `H${x(end).toFixed(1)}`;
  }

  /** points: [{t: ISO, capacity, occupied}], sorted by t; bucketMs: the length of a bucket.
   * Only the span that has data is drawn: a region with a few minutes of history in a 24 h
   * window is a short chart of those minutes, never a line falling to zero. */
  function render(container, points, label, bucketMs) {
    if (!points.length) {
      container.replaceChildren(B.el("p", { class: "empty", text: B.t("chartEmpty") }));
      return;
    }
    const data = points.map((p) => ({ ...p, time: Date.parse(p.t) }));
    const t0 = data[0].time;
    const step = bucketMs || (data.length > 1 ? data[1].time - data[0].time : 60000);
    const t1 = data[data.length - 1].time + step;
    const top = niceMax(Math.max(...data.map((p) => p.capacity), 1));
    const x = (time) => LEFT + ((time - t0) / (t1 - t0)) * (W - LEFT - RIGHT);
    const y = (value) => TOP + (1 - value / top) * (H - TOP - BOTTOM);
    const chart = B.svg("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": label });
    chart.append(B.svg("title", { text: label }));
    for (let i = 0; i <= 4; i += 1) {
      const value = (top / 4) * i;
      chart.append(
        B.svg("line", { class: "grid-line", x1: LEFT, x2: W - RIGHT, y1: y(value), y2: y(value) }),
        B.svg("text", { x: LEFT - 6, y: y(value) + 4, "text-anchor": "end", text: B.number(value) }),
      );
    }
    const spanDays = (t1 - t0) / 86400000;
    const ticks = Math.min(6, data.length);
    for (let i = 0; i < ticks; i += 1) {
      const time = t0 + ((t1 - t0) * i) / Math.max(1, ticks - 1);
      chart.append(B.svg("text", {
        x: x(time), y: H - 8, "text-anchor": i === 0 ? "start" : i === ticks - 1 ? "end" : "middle",
        text: B.dateTime(new Date(time).toISOString(), spanDays > 1.5),
      }));
    }
    const line = path(data, x, y, "occupied", t1);
    const area = `${line}L${x(t1).toFixed(1)},${y(0)}L${x(t0).toFixed(1)},${y(0)}Z`;
    chart.append(
      B.svg("path", { class: "occupied-area", d: area }),
      B.svg("path", { class: "occupied-line", d: line }),
      B.svg("path", { class: "capacity-line", d: path(data, x, y, "capacity", t1) }),
    );
    const legend = B.el("div", { class: "legend", "aria-hidden": "true" },
      B.el("span", {}, B.el("i", { class: "swatch" }), B.t("occupied")),
      B.el("span", {}, B.el("i", { class: "swatch swatch-dashed" }), B.t("capacity")));
    container.replaceChildren(chart, legend);
  }

  window.BedsvcChart = { render };
})();

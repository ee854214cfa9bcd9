// The flow view: replays a window of a run's request records, one dot per request, moving
// client -> balancer -> instance queue -> service slot -> back. Plain canvas, no framework.
// Times are seconds from the window's start (payload.t0). The payload comes from
// scalelab/flowdata.py; its per-request arrays arrive as binary buffers (DataView).
//
// A dot is at its instance (queued, then in service) exactly while the records say so:
// from its arrival to its end. Its trip from the client is drawn *before* its arrival and
// its way back *after* its end, so the picture at any time matches the records.

// The Wong palette, safe for colour-blind readers; the payload brings the course's own copy
// (scalelab/plots/style.py), these are the same values for a page without one.
let WONG = {black: "#000000", orange: "#E69F00", sky: "#56B4E9", green: "#009E73",
            yellow: "#F0E442", blue: "#0072B2", vermillion: "#D55E00", purple: "#CC79A7"};
let USER_COLOURS = [];
const OK = 0, TIMEOUT = 4, STORE_DOWN = 5;
const STATE_FILL = ["#ffffff", "#e6e6e6", "#4d4d4d", "#fbf6c4", "#dcecf7", "#fbe7c6", "#ffffff"];
const RUNNING = 0, CRASHED = 2, ABSENT = 6;
const W = 960;                 // logical canvas width (px); drawn scaled to the element
const FLIGHT_S = 0.4;          // real seconds a trip takes on screen, whatever the speed
const SPEED_MIN = 0.05, SPEED_MAX = 10;
const READOUT_EVERY_MS = 250;
const DOT_RADIUS = 3.5;

function array(value, Kind) {
  if (value instanceof DataView) {
    const bytes = value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength);
    return new Kind(bytes);
  }
  return Kind.from(value || []);
}

function decode(p) {
  WONG = {...WONG, ...(p.palette || {})};
  USER_COLOURS = [WONG.sky, WONG.green, WONG.yellow, WONG.purple, "#7f7f7f"];
  const d = {
    t0: p.t0, duration: p.duration, count: p.count, summary: p.summary,
    arrival: array(p.arrival, Float64Array), start: array(p.start, Float64Array),
    end: array(p.end, Float64Array), instance: array(p.instance, Int32Array),
    status: array(p.status, Int8Array), retries: array(p.retries, Int8Array),
    lost: array(p.lost, Uint8Array), user: array(p.user, Int32Array),
    instances: p.instances, slots: p.slots, intervals: p.intervals, events: p.events,
    store: p.store, statuses: p.statuses, states: p.states,
  };
  d.row = new Map(d.instances.map((k, r) => [k, r]));
  d.users = d.user.some((u) => u >= 0);
  d.storeDown = Array.from(d.arrival).filter((_, i) => d.status[i] === STORE_DOWN);
  const times = [0, d.duration];
  for (let i = 0; i < d.count; i++) times.push(d.arrival[i], d.start[i], d.end[i]);
  for (const [t] of d.events) times.push(t);
  const inside = Float64Array.from(times.filter((t) => t >= 0 && t <= d.duration)).sort();
  d.steps = inside.filter((t, i) => i === 0 || t > inside[i - 1] + 1e-9);
  return d;
}

function layout(d) {
  const n = Math.max(1, d.instances.length);
  const rowH = Math.max(30, Math.min(72, 440 / n));
  const top = 12;
  const boxes = d.instances.map((k, r) => {
    const y = top + r * rowH + 3, h = rowH - 6;
    const slotW = Math.min(20, 120 / Math.max(1, d.slots[r]));
    const slotsW = Math.max(24, slotW * Math.min(d.slots[r], 6));
    return {k, x: 430, y, w: W - 440, h, qx: 436, qw: W - 440 - slotsW - 18,
            sx: W - 10 - slotsW - 6, sw: slotsW, slots: d.slots[r]};
  });
  const body = n * rowH;
  const store = d.store ? {x: 170, y: top + body + 14, w: 180, h: 34} : null;
  const height = top + body + (store ? 62 : 10);
  const mid = top + body / 2;
  return {boxes, store, height, client: {x: 10, y: top, w: 80, h: body},
          balancer: {x: 250, y: mid}};
}

function stateAt(d, k, t) {
  const iv = d.intervals;
  for (let j = 0; j < iv.instance.length; j++) {
    if (iv.instance[j] === k && iv.from[j] <= t && t < iv.to[j]) return [iv.state[j], iv.down[j]];
  }
  return [RUNNING, false];
}

function boxLabel(d, k, state, down, queued, serving) {
  let what = d.states[state];
  if (state === CRASHED && !down) what += " · balancer still sends to it";
  else if (state === RUNNING && down) what = "marked down";
  else if (down) what += " · marked down";
  return `instance ${k} · ${what} · ${queued} queued, ${serving} in service`;
}

function lerp(a, b, u) { return a + (b - a) * Math.min(1, Math.max(0, u)); }

export default {
  render({ model, el }) {
    let d = decode(model.get("payload"));
    let geo = layout(d);
    let t = 0, playing = false, last = null, lastReadout = 0, frames = 0, raf = null;
    let speed = Math.min(SPEED_MAX, Math.max(SPEED_MIN, model.get("speed")));
    let pos = new Float32Array(0), drawn = 0, inBox = [];
    const reduced = window.matchMedia &&
      window.matchMedia("(prefers-reduced-motion: reduce)").matches;

    const root = document.createElement("div");
    root.className = "scalelab-flow";
    root.tabIndex = 0;
    root.dataset.lmSuppressShortcuts = "true";
    root.setAttribute("role", "group");
    root.setAttribute("aria-label", "Requests flowing through the cluster; space plays or " +
                      "pauses, arrow keys step one event, plus and minus change the speed");
    root.innerHTML = `
      <p class="sl-flow-summary sl-flow-sr"></p>
      <div class="sl-flow-controls">
        <button type="button" class="sl-flow-back" aria-label="Step back one event">◀︎|</button>
        <button type="button" class="sl-flow-play" aria-pressed="false">Play</button>
        <button type="button" class="sl-flow-next" aria-label="Step forward one event">|▶︎</button>
        <label>time <input type="range" class="sl-flow-scrub" min="0" step="any"
          aria-label="Time in the window (seconds)"></label>
        <label>speed <input type="range" class="sl-flow-speed" min="${Math.log10(SPEED_MIN)}"
          max="${Math.log10(SPEED_MAX)}" step="0.01" aria-label="Playback speed"></label>
        <output class="sl-flow-speed-value"></output>
      </div>
      <canvas class="sl-flow-canvas" aria-hidden="true"></canvas>
      <p class="sl-flow-readout"></p>
      <p class="sl-flow-live sl-flow-sr" role="status" aria-live="polite"></p>
      <p class="sl-flow-legend">
        <span class="sl-flow-pending"><i class="sl-dot" style="background:${WONG.sky}"></i
          ><b>on its way / waiting</b></span>
        <span><i class="sl-dot" style="background:${WONG.blue}"></i>answered</span>
        <span><i class="sl-sq" style="background:${WONG.vermillion}"></i>failed</span>
        <span><i class="sl-sq" style="background:${WONG.orange}"></i>timed out</span>
        <span><i class="sl-dot sl-ring"></i>retried</span>
        <span><i class="sl-diamond" style="background:${WONG.vermillion}"></i>lost session</span>
      </p>`;
    el.appendChild(root);
    const $ = (s) => root.querySelector(s);
    const canvas = $(".sl-flow-canvas"), ctx = canvas.getContext("2d");
    const play = $(".sl-flow-play"), scrub = $(".sl-flow-scrub");
    const speedInput = $(".sl-flow-speed"), speedValue = $(".sl-flow-speed-value");
    const readout = $(".sl-flow-readout"), live = $(".sl-flow-live");

    function setup() {
      $(".sl-flow-summary").textContent = d.summary;
      $(".sl-flow-pending b").textContent = d.users ? "a colour per user (5 repeat)"
        : "on its way / waiting";
      scrub.max = String(d.duration);
      canvas.width = Math.round(W * (window.devicePixelRatio || 1));
      canvas.height = Math.round(geo.height * (window.devicePixelRatio || 1));
      canvas.style.aspectRatio = `${W} / ${geo.height}`;
      root.dataset.instances = JSON.stringify(d.instances);
      root.dataset.count = String(d.count);
      root.dataset.duration = String(d.duration);
      root.dataset.t0 = String(d.t0);
    }

    function setSpeed(value) {
      speed = Math.min(SPEED_MAX, Math.max(SPEED_MIN, value));
      speedInput.value = String(Math.log10(speed));
      speedValue.textContent = `${speed < 1 ? speed.toFixed(2) : speed.toFixed(1)}×`;
      root.dataset.speed = String(speed);
    }

    // Where every request is at time `t`: fills `pos` (x, y, style) and counts per box.
    function place(now) {
      const n = d.count, flight = FLIGHT_S * speed, half = flight / 2;
      const rows = geo.boxes.length;
      const queued = new Int32Array(rows), serving = new Int32Array(rows);
      const phase = new Int8Array(n), rank = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const a = d.arrival[i];
        if (a - flight > now) break;          // sorted by arrival: nobody later has left yet
        const e = d.end[i];
        if (now >= e + flight) continue;
        const r = d.row.get(d.instance[i]);
        if (now < a) phase[i] = 1;                                  // on its way
        else if (now < e && r !== undefined) {
          if (now < d.start[i]) { phase[i] = 2; rank[i] = queued[r]++; }
          else { phase[i] = 3; rank[i] = serving[r]++; }
        } else phase[i] = 4;                                        // on its way back
      }
      if (pos.length < n * 4) pos = new Float32Array(n * 4);
      drawn = 0;
      const b = geo.balancer, c = geo.client;
      for (let i = 0; i < n; i++) {
        const p = phase[i];
        if (!p) continue;
        const r = d.row.get(d.instance[i]);
        const box = r === undefined ? null : geo.boxes[r];
        const cy = c.y + 6 + ((d.users ? Math.max(0, d.user[i]) * 37 : i * 53) % (c.h - 12));
        const cx = c.x + c.w;
        let x, y, radius = DOT_RADIUS;
        if (p === 1) {
          const u = (now - (d.arrival[i] - flight)) / half;
          if (u < 1 || !box) { x = lerp(cx, b.x, u); y = lerp(cy, b.y, u); }
          else { x = lerp(b.x, box.x - 6, u - 1); y = lerp(b.y, box.y + box.h / 2, u - 1); }
        } else if (p === 4) {
          const u = (now - d.end[i]) / half;
          const ey = box ? box.y + box.h / 2 + 5 : b.y + 5;
          if (u < 1 && box) { x = lerp(box.x - 6, b.x, u); y = lerp(ey, b.y + 5, u); }
          else {
            const v = box ? u - 1 : u;
            x = lerp(b.x, cx, v); y = lerp(b.y + 5, cy, v);
          }
        } else if (p === 2) {
          [x, y, radius] = queueSpot(box, rank[i], queued[r]);
        } else {
          [x, y] = slotSpot(box, rank[i]);
        }
        pos.set([x, y, style(i, p, now), radius], drawn * 4);
        drawn++;
      }
      return {queued, serving};
    }

    function queueSpot(box, k, count) {
      const usable = box.h - 16;
      let sp = 9;
      while (sp > 1.5 && Math.floor(box.qw / sp) * Math.floor(usable / sp) < count) sp *= 0.85;
      const cols = Math.max(1, Math.floor(box.qw / sp));
      const rows = Math.max(1, Math.floor(usable / sp));
      const row = Math.min(rows - 1, Math.floor(k / cols));
      return [box.qx + box.qw - (k % cols + 0.5) * sp, box.y + 13 + (row + 0.5) * sp,
              Math.max(0.8, Math.min(DOT_RADIUS, sp * 0.42))];
    }

    function slotSpot(box, k) {
      const per = Math.min(box.slots, 6), lanes = Math.ceil(box.slots / per);
      const slot = Math.min(k, box.slots - 1);
      const col = slot % per, lane = Math.floor(slot / per);
      const laneH = (box.h - 16) / lanes;
      return [box.sx + (col + 0.5) * (box.sw / per), box.y + 13 + (lane + 0.5) * laneH];
    }

    // style code: fill index * 8 + shape * 2 + ring. fills: 0 sky/user, 1 blue, 2 vermillion,
    // 3 orange, 4+ user colours; shapes: 0 circle, 1 square (error), 2 diamond (lost session)
    function style(i, p, now) {
      const done = p === 4, status = d.status[i];
      const lost = d.lost[i] && now >= d.start[i];
      let fill = 0, shape = 0;
      if (done && status !== OK) { fill = status === TIMEOUT ? 3 : 2; shape = 1; }
      else if (lost) { fill = 2; shape = 2; }
      else if (d.users) fill = 4 + (Math.max(0, d.user[i]) % USER_COLOURS.length);
      else if (done) fill = 1;
      return fill * 8 + shape * 2 + (d.retries[i] > 0 ? 1 : 0);
    }

    function fillOf(code) {
      const f = code >> 3;
      return f >= 4 ? USER_COLOURS[f - 4] : [WONG.sky, WONG.blue, WONG.vermillion, WONG.orange][f];
    }

    function draw() {
      const scale = canvas.width / W;
      ctx.setTransform(scale, 0, 0, scale, 0, 0);
      ctx.clearRect(0, 0, W, geo.height);
      const {queued, serving} = place(t);
      drawScenery(queued, serving);
      drawDots();
      inBox = geo.boxes.map((box) => countInside(box));
      root.dataset.time = t.toFixed(6);
      root.dataset.dots = String(drawn);
      root.dataset.inInstance = JSON.stringify(inBox);
      root.dataset.playing = String(playing);
      scrub.value = String(t);
      scrub.setAttribute("aria-valuetext", `${(d.t0 + t).toFixed(2)} s`);
      return {queued, serving};
    }

    function drawScenery(queued, serving) {
      const c = geo.client, b = geo.balancer;
      ctx.lineWidth = 1;
      ctx.strokeStyle = "#999";
      ctx.font = "12px sans-serif";
      ctx.fillStyle = "#f4f4f4";
      ctx.fillRect(c.x, c.y, c.w, c.h);
      ctx.strokeRect(c.x, c.y, c.w, c.h);
      ctx.fillStyle = "#000";
      ctx.fillText("clients", c.x + 18, c.y + 14);
      ctx.beginPath();
      ctx.moveTo(b.x, b.y - 22); ctx.lineTo(b.x + 22, b.y); ctx.lineTo(b.x, b.y + 22);
      ctx.lineTo(b.x - 22, b.y); ctx.closePath();
      ctx.fillStyle = "#fff"; ctx.fill(); ctx.stroke();
      ctx.fillStyle = "#000";
      ctx.fillText("balancer", b.x - 24, b.y + 38);
      if (geo.store) drawStore();
      geo.boxes.forEach((box, r) => drawBox(box, queued[r], serving[r]));
    }

    function drawStore() {
      const s = geo.store;
      ctx.strokeStyle = "#999";
      ctx.setLineDash([3, 3]);
      for (const box of geo.boxes) {
        ctx.beginPath(); ctx.moveTo(box.x, box.y + box.h); ctx.lineTo(s.x + s.w, s.y + s.h / 2);
        ctx.stroke();
      }
      ctx.setLineDash([]);
      const failing = d.storeDown.some((a) => Math.abs(a - t) < Math.max(1, FLIGHT_S * speed));
      ctx.fillStyle = failing ? "#f6d3bf" : "#eef6ee";
      ctx.fillRect(s.x, s.y, s.w, s.h); ctx.strokeRect(s.x, s.y, s.w, s.h);
      ctx.fillStyle = "#000";
      ctx.fillText(failing ? "session store · not answering" : "shared session store",
                   s.x + 6, s.y + 21);
    }

    function drawBox(box, queued, serving) {
      const [state, down] = stateAt(d, box.k, t);
      ctx.fillStyle = STATE_FILL[state];
      ctx.fillRect(box.x, box.y, box.w, box.h);
      ctx.lineWidth = down ? 3 : 1;
      ctx.strokeStyle = down ? WONG.vermillion : "#666";
      ctx.setLineDash(down || state === ABSENT ? [6, 4] : []);
      ctx.strokeRect(box.x, box.y, box.w, box.h);
      ctx.setLineDash([]);
      ctx.lineWidth = 1;
      ctx.strokeStyle = "#bbb";
      ctx.strokeRect(box.sx - 3, box.y + 12, box.sw + 6, box.h - 15);
      ctx.fillStyle = state === CRASHED ? "#fff" : "#000";
      ctx.font = "11px sans-serif";
      ctx.fillText(boxLabel(d, box.k, state, down, queued, serving), box.x + 5, box.y + 10);
    }

    function drawDots() {
      const groups = new Map();
      for (let j = 0; j < drawn; j++) {
        const code = pos[j * 4 + 2];
        if (!groups.has(code)) groups.set(code, []);
        groups.get(code).push(j);
      }
      for (const [code, members] of groups) {
        const shape = (code >> 1) & 3, ring = code & 1;
        ctx.beginPath();
        for (const j of members) {
          const x = pos[j * 4], y = pos[j * 4 + 1], radius = pos[j * 4 + 3];
          if (shape === 1) ctx.rect(x - radius, y - radius, 2 * radius, 2 * radius);
          else if (shape === 2) {
            ctx.moveTo(x, y - radius - 1); ctx.lineTo(x + radius + 1, y);
            ctx.lineTo(x, y + radius + 1); ctx.lineTo(x - radius - 1, y); ctx.closePath();
          } else { ctx.moveTo(x + radius, y); ctx.arc(x, y, radius, 0, 2 * Math.PI); }
        }
        ctx.fillStyle = fillOf(code);
        ctx.fill();
        if (ring || shape === 2) {
          ctx.lineWidth = ring ? 1.5 : 1;
          ctx.strokeStyle = "#000";
          ctx.stroke();
        }
      }
    }

    function countInside(box) {
      let n = 0;
      for (let j = 0; j < drawn; j++) {
        const x = pos[j * 4], y = pos[j * 4 + 1];
        if (x >= box.x && x <= box.x + box.w && y >= box.y && y <= box.y + box.h) n++;
      }
      return n;
    }

    function describe(queued, serving) {
      const parts = [`t = ${(d.t0 + t).toFixed(1)} s`];
      const recent = d.events.filter(([when]) => when <= t && t - when <= Math.max(5, speed * 2));
      if (recent.length) {
        const [when, k, what] = recent[recent.length - 1];
        parts.push(`instance ${k} ${what} at ${(d.t0 + when).toFixed(1)} s`);
      }
      let most = -1;
      geo.boxes.forEach((_, r) => { if (most < 0 || queued[r] > queued[most]) most = r; });
      const total = serving.reduce((s, v) => s + v, 0);
      if (most >= 0 && queued[most] > 0) {
        parts.push(`${queued[most]} request${queued[most] === 1 ? "" : "s"} queued at ` +
                   `instance ${geo.boxes[most].k}`);
      } else parts.push("no queue");
      parts.push(`${total} in service`);
      return parts.join("; ");
    }

    function show(announce) {
      const {queued, serving} = draw();
      const now = performance.now();
      if (announce || !playing || now - lastReadout > READOUT_EVERY_MS) {
        readout.textContent = describe(queued, serving);
        lastReadout = now;
      }
      if (announce) live.textContent = readout.textContent;
    }

    function tick(stamp) {
      raf = null;
      if (!playing) return;
      if (last !== null) t = Math.min(d.duration, t + (stamp - last) / 1000 * speed);
      last = stamp;
      frames++;
      root.dataset.frames = String(frames);
      show(false);
      if (t >= d.duration) { setPlaying(false); return; }
      raf = requestAnimationFrame(tick);
    }

    function setPlaying(on) {
      if (on && t >= d.duration) t = 0;
      playing = on;
      play.textContent = on ? "Pause" : "Play";
      play.setAttribute("aria-pressed", String(on));
      last = null;
      if (on && raf === null) raf = requestAnimationFrame(tick);
      if (!on && raf !== null) { cancelAnimationFrame(raf); raf = null; }
      show(!on);
    }

    function seek(value) {
      t = Math.min(d.duration, Math.max(0, value));
      last = null;
      show(!playing);
    }

    function step(direction) {
      setPlaying(false);
      const s = d.steps;
      let lo = 0, hi = s.length;
      while (lo < hi) { const mid = (lo + hi) >> 1; if (s[mid] <= t) lo = mid + 1; else hi = mid; }
      // lo: first step after t; the one before lo is at or before t
      if (direction > 0) seek(lo < s.length ? s[lo] : d.duration);
      else {
        let j = lo - 1;
        while (j >= 0 && s[j] >= t - 1e-9) j--;
        seek(j >= 0 ? s[j] : 0);
      }
    }

    play.addEventListener("click", () => setPlaying(!playing));
    $(".sl-flow-next").addEventListener("click", () => step(1));
    $(".sl-flow-back").addEventListener("click", () => step(-1));
    scrub.addEventListener("input", () => seek(Number(scrub.value)));
    speedInput.addEventListener("input", () => {
      setSpeed(10 ** Number(speedInput.value));
      model.set("speed", speed); model.save_changes();
    });
    root.addEventListener("keydown", (event) => {
      const onRange = event.target instanceof HTMLInputElement;
      const key = event.key;
      if ((key === " " || key === "k") && !(event.target instanceof HTMLButtonElement)) {
        setPlaying(!playing);
      } else if ((key === "ArrowRight" || key === ".") && !onRange) step(1);
      else if ((key === "ArrowLeft" || key === ",") && !onRange) step(-1);
      else if (key === "+" || key === "=") setSpeed(speed * 1.5);
      else if (key === "-") setSpeed(speed / 1.5);
      else return;
      event.preventDefault();
      event.stopPropagation();  // the notebook's own shortcuts must not see it
    });
    model.on("change:speed", () => setSpeed(model.get("speed")));
    model.on("change:payload", () => {
      d = decode(model.get("payload")); geo = layout(d); setup(); seek(0);
    });

    // A handle for tests and benchmarks: read what was drawn, never what Python computed.
    root.flow = {
      get time() { return t; },
      get playing() { return playing; },
      positions: () => Array.from({length: drawn}, (_, j) => [pos[j * 4], pos[j * 4 + 1]]),
      dotsIn: (k) => inBox[d.row.get(k)],
      boxes: () => geo.boxes.map((b) => ({k: b.k, x: b.x, y: b.y, w: b.w, h: b.h})),
    };

    setup();
    setSpeed(speed);
    setPlaying(false);
    // Autoplay once the view is first on screen, unless the reader asked for less motion.
    let watcher = null;
    if (model.get("autoplay") && !reduced) {
      if ("IntersectionObserver" in window) {
        watcher = new IntersectionObserver((entries) => {
          if (entries.some((e) => e.isIntersecting)) { watcher.disconnect(); setPlaying(true); }
        }, {threshold: 0.3});
        watcher.observe(root);
      } else setPlaying(true);
    }
    return () => {
      playing = false;
      if (raf !== null) cancelAnimationFrame(raf);
      if (watcher) watcher.disconnect();
    };
  },
};

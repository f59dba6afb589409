// skyhive operator console: one Canvas 2D map fed by the /ws stream (see docs/console.md for the format).
// Plain browser JavaScript, no build step and no third-party code: it must work offline and in headless Chromium.
"use strict";

(() => {
  const FLEET_COLOURS = ["#4dabf7", "#69db7c", "#da77f2", "#ffd43b", "#ff8787", "#38d9a9", "#ffa94d", "#a5d8ff",
                         "#b197fc", "#c0eb75"];
  const STATUS_COLOURS = { returning: "#1c7ed6", landing: "#f59f00", landed: "#868e96", failed: "#e03131" };
  const LABEL_COLOURS = { unknown: "#e03131", swarm: "#1c7ed6", manned: "#f08c00", cooperative: "#2f9e44" };
  const MAGIC = "SKH1";

  const params = new URLSearchParams(location.search);
  const token = params.get("token");
  const canvas = document.getElementById("map");
  const ctx = canvas.getContext("2d");
  const $ = (id) => document.getElementById(id);

  const S = {                       // everything the page knows
    hello: null, state: { fences: [], tasks: [], stations: [] }, frame: null, pos: new Float32Array(0),
    status: new Uint8Array(0), fleetOf: new Uint8Array(0), coverage: null, links: null, metrics: {},
    alerts: [], tracks: [], manned: [], tasks: [], events: [],
    view: { cx: 0, cy: 0, scale: 0.2 }, fitted: false, tool: "select", draft: [], selected: null,
    fps: 0, draws: 0, framesIn: 0, bytesIn: 0, lastReply: null, lastError: null, req: 0, ws: null,
    tiles: params.get("tiles") === "on" || (params.get("tiles") !== "off" && navigator.onLine),
    linksOn: false, maxInsideKeepOut: 0,
  };

  // -- geodesy: ENU metres at the scenario origin <-> lat/lon (local tangent plane, WGS84 radii) -------------
  let M = 6.36e6, N = 6.39e6, lat0 = 0, lon0 = 0, cos0 = 1;
  function setOrigin(o) {
    const a = 6378137.0, e2 = 6.69437999014e-3, s = Math.sin(o.lat * Math.PI / 180);
    const w = Math.sqrt(1 - e2 * s * s);
    M = a * (1 - e2) / (w * w * w); N = a / w; lat0 = o.lat; lon0 = o.lon; cos0 = Math.cos(o.lat * Math.PI / 180);
  }
  const toLatLon = (x, y) => [lat0 + (y / M) * 180 / Math.PI, lon0 + (x / (N * cos0)) * 180 / Math.PI];
  const toXY = (lat, lon) => [(lon - lon0) * Math.PI / 180 * N * cos0, (lat - lat0) * Math.PI / 180 * M];

  // -- view: metres <-> canvas pixels -----------------------------------------------------------------------
  let W = 0, H = 0, DPR = 1;
  function resize() {
    DPR = window.devicePixelRatio || 1;
    const r = canvas.getBoundingClientRect();
    W = r.width; H = r.height;
    canvas.width = Math.round(W * DPR); canvas.height = Math.round(H * DPR);
  }
  const sx = (x) => W / 2 + (x - S.view.cx) * S.view.scale;
  const sy = (y) => H / 2 - (y - S.view.cy) * S.view.scale;
  const mx = (px) => S.view.cx + (px - W / 2) / S.view.scale;
  const my = (py) => S.view.cy - (py - H / 2) / S.view.scale;

  function fit() {
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    const add = (x, y) => { x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y); };
    for (let i = 0; i < S.pos.length; i += 3) add(S.pos[i], S.pos[i + 1]);
    for (const t of S.state.tasks) for (const p of (t.area || t.points || [])) add(p[0], p[1]);
    for (const s of S.state.stations) add(s.pos[0], s.pos[1]);
    for (const f of S.state.fences) for (const p of f.rings[0]) add(p[0], p[1]);
    for (const z of (S.state.zones || [])) for (const p of z.ring) add(p[0], p[1]);
    if (!isFinite(x0)) return;
    if (x1 - x0 < 200) { x0 -= 100; x1 += 100; }
    if (y1 - y0 < 200) { y0 -= 100; y1 += 100; }
    S.view.cx = (x0 + x1) / 2; S.view.cy = (y0 + y1) / 2;
    S.view.scale = 0.85 * Math.min(W / (x1 - x0), H / (y1 - y0));
    S.fitted = true;
  }

  // -- the stream -------------------------------------------------------------------------------------------
  function decode(buf) {
    const dv = new DataView(buf);
    const magic = String.fromCharCode(dv.getUint8(0), dv.getUint8(1), dv.getUint8(2), dv.getUint8(3));
    if (magic !== MAGIC) throw new Error("bad frame");
    const n = dv.getUint32(4, true);
    const head = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 8, n)));
    const types = { f4: Float32Array, u1: Uint8Array, u2: Uint16Array, u4: Uint32Array, i4: Int32Array };
    let off = 8 + n;
    const arrays = {};
    for (const [name, code, count] of head.sections) {
      const T = types[code];
      arrays[name] = new T(buf, off, count);
      const size = count * T.BYTES_PER_ELEMENT;
      off += size + ((8 - (size % 8)) % 8);
    }
    return [head, arrays];
  }

  function send(obj) {
    obj.req = ++S.req;
    if (S.ws && S.ws.readyState === 1) S.ws.send(JSON.stringify(obj));
    return obj.req;
  }

  function connect() {
    const url = new URL("ws", location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    if (token) url.searchParams.set("token", token);
    const ws = new WebSocket(url);
    ws.binaryType = "arraybuffer";
    S.ws = ws;
    ws.onopen = () => { $("conn").textContent = "connected"; $("conn").className = "ok";
                        if (S.linksOn) send({ op: "links", on: true }); };
    ws.onclose = () => { $("conn").textContent = "disconnected, retrying…"; $("conn").className = "bad";
                         setTimeout(connect, 1000); };
    ws.onmessage = (ev) => {
      if (typeof ev.data === "string") return onText(JSON.parse(ev.data));
      S.bytesIn += ev.data.byteLength;
      const [head, arrays] = decode(ev.data);
      if (head.type === "frame") onFrame(head, arrays);
      else if (head.type === "links") S.links = { head, pairs: arrays.pairs };
      else if (head.type === "coverage") S.coverage = { head, cells: arrays.cells, image: null };
    };
  }

  function onText(msg) {
    if (msg.type === "hello") {
      S.hello = msg; setOrigin(msg.origin);
      S.fleetOf = new Uint8Array(msg.drones);
      msg.fleets.forEach((f, k) => S.fleetOf.fill(k, f.start, f.stop));
      $("title").textContent = `${msg.scenario} · ${msg.drones.toLocaleString()} drones` +
        (msg.mode === "replay" ? " · replay" : "");
      $("replay").hidden = msg.mode !== "replay";
      if (msg.mode === "replay") { $("timeline").max = msg.duration; }
      setSpeedShown(msg.speed || 1);
      for (const b of document.querySelectorAll("#tools button[data-tool]")) {
        const t = b.dataset.tool;
        if (msg.mode === "replay" || (!msg.can_task && t !== "select" && t !== "keepout")) b.disabled = t !== "select";
      }
      legend();
    } else if (msg.type === "state") { S.state = msg; renderFences(); if (!S.fitted && W) fit(); }
    else if (msg.type === "metrics") { S.metrics = msg.metrics; renderMetrics(); }
    else if (msg.type === "events") {
      for (const e of msg.events) S.events.push(e);
      S.events = S.events.slice(-60);
      renderEvents();
    } else if (msg.type === "reply") {
      S.lastReply = msg;
      if (!msg.ok) {
        S.lastError = msg;
        toast(msg.problems.map((p) => (p.field ? p.field + ": " : "") + p.message).join("\n"), false);
      } else if (msg.task) toast(`task ${msg.task} sent from the ground station`, true);
      else if (msg.fence) toast(`geofence ${msg.fence} ${msg.active ? "on" : "off"}`, true);
    } else if (msg.type === "error") { S.lastError = msg; toast(msg.message, false); }
  }

  function setSpeedShown(v) {
    const sel = $("speed"), text = String(v);
    if (![...sel.options].some((o) => o.value === text)) { const o = el("option", "", text); o.value = text; sel.append(o); }
    if (document.activeElement !== sel) sel.value = text;
  }

  function onFrame(head, arrays) {
    S.frame = head; S.framesIn++;
    S.pos = arrays.pos; S.status = arrays.status;
    S.alerts = head.alerts; S.tracks = head.tracks; S.manned = head.manned; S.tasks = head.tasks;
    $("clock").textContent = `t = ${head.t.toFixed(1)} s` + (head.paused ? " · paused" : "") +
      (head.ended ? " · ended" : "") + ` · x${head.speed}` + (head.behind_s > 1 ? ` · behind ${head.behind_s} s` : "");
    $("pause").textContent = head.paused ? "resume" : "pause";
    setSpeedShown(head.speed);
    if (S.hello && S.hello.mode === "replay") {
      if (document.activeElement !== $("timeline")) $("timeline").value = head.t;
      $("rtime").textContent = `${head.t.toFixed(1)} / ${S.hello.duration} s`;
      $("rplay").textContent = head.paused ? "play" : "pause";
    }
    if (!S.fitted && W) fit();
    trackKeepOuts();
    renderAlerts(); renderTasks(); renderDetails();
  }

  // the largest number of drones ever seen inside an active keep-out at its height (tests, the operator's eye)
  function trackKeepOuts() {
    let worst = 0;
    for (const f of S.state.fences) {
      if (!f.active || f.kind !== "keep_out") continue;
      let n = 0;
      for (let i = 0; i < S.pos.length; i += 3) {
        const z = S.pos[i + 2];
        if (z >= f.floor_m && z <= f.ceiling_m && S.status[i / 3] <= 2 && inside(f.rings[0], S.pos[i], S.pos[i + 1])) n++;
      }
      worst = Math.max(worst, n);
    }
    S.insideKeepOut = worst;
    S.maxInsideKeepOut = Math.max(S.maxInsideKeepOut, worst);
  }
  function inside(ring, x, y) {
    let c = false;
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi, yi] = ring[i], [xj, yj] = ring[j];
      if ((yi > y) !== (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) c = !c;
    }
    return c;
  }

  // -- panels -----------------------------------------------------------------------------------------------
  function el(tag, cls, text) { const e = document.createElement(tag); if (cls) e.className = cls;
                                 if (text !== undefined) e.textContent = text; return e; }
  let alertKey = "", taskKey = "";
  function renderAlerts() {
    const key = JSON.stringify(S.alerts.map((a) => [a.id, a.severity, a.kind, a.active]));
    if (key === alertKey) return;
    alertKey = key;
    const ul = $("alerts"); ul.replaceChildren();
    $("alert-count").textContent = S.alerts.length;
    for (const a of S.alerts.slice().reverse()) {
      const li = el("li", "sev-" + a.severity); li.dataset.alert = a.id;
      li.append(el("span", "grow", `#${a.id} ${a.severity} ${a.kind} · ${a.target} · track ${a.track} ` +
        `(${a.label}${a.identity ? " " + a.identity : ""})` + (a.active ? "" : " · ended")));
      const b = el("button", "ack", "ack"); b.onclick = () => send({ op: "ack_alert", id: a.id });
      li.append(b); ul.append(li);
    }
    if (!S.alerts.length) ul.append(el("li", "muted", "no open alerts"));
  }
  function renderTasks() {
    const key = JSON.stringify(S.tasks) + S.state.tasks.length;
    if (key === taskKey) return;
    taskKey = key;
    const ul = $("tasks"); ul.replaceChildren();
    const defs = Object.fromEntries(S.state.tasks.map((t) => [t.id, t]));
    for (const [id, done, parts, drones] of S.tasks) {
      const d = defs[id] || {};
      const li = el("li"); li.dataset.task = id;
      const state = d.cancelled ? "cancelled" : (parts && done === parts ? "done" : `${done}/${parts}`);
      li.append(el("span", "grow", `${id} · ${d.kind || ""} · ${state} · ${drones.length} drone(s)`));
      if (!d.cancelled && !(parts && done === parts) && S.hello && S.hello.mode !== "replay") {
        const b = el("button", "cancel", "cancel"); b.onclick = () => send({ op: "cancel_task", id }); li.append(b);
      }
      ul.append(li);
    }
    if (!S.tasks.length) ul.append(el("li", "muted", S.hello && S.hello.can_task ? "no tasks: add one from the toolbar"
                                                                                 : "this run takes no tasks"));
  }
  function renderFences() {
    const ul = $("fences"); ul.replaceChildren();
    for (const f of S.state.fences) {
      const li = el("li"); li.dataset.fence = f.name;
      li.append(el("span", "grow", `${f.name} · ${f.kind} · ${f.floor_m}-${f.ceiling_m} m`));
      const cb = el("input", "switch"); cb.type = "checkbox"; cb.checked = f.active; cb.title = "active";
      cb.disabled = S.hello && S.hello.mode === "replay";
      cb.onchange = () => send({ op: "set_keep_out", name: f.name, active: cb.checked });
      li.append(cb); ul.append(li);
    }
    if (!S.state.fences.length) ul.append(el("li", "muted", "none"));
    taskKey = "";
  }
  function renderMetrics() {
    const t = $("metrics"); t.replaceChildren();
    for (const [k, v] of Object.entries(S.metrics)) {
      const tr = el("tr"); tr.append(el("td", "", k.replaceAll("_", " ")));
      tr.append(el("td", "", typeof v === "object" && v !== null ? Object.entries(v).map(([a, b]) => `${a} ${b}`).join(", ")
                                                                 : String(v)));
      t.append(tr);
    }
  }
  function renderEvents() {
    const ol = $("events"); ol.replaceChildren();
    for (const [t, level, source, text] of S.events.slice(-30).reverse()) ol.append(el("li", "", `${t} ${level} ${source}: ${text}`));
  }
  function legend() {
    const box = $("legend"); box.replaceChildren();
    const add = (c, text) => { const s = el("span"); const i = el("i"); i.style.background = c; s.append(i, text); box.append(s); };
    S.hello.fleets.forEach((f, k) => add(FLEET_COLOURS[k % FLEET_COLOURS.length], `${f.name} (active)`));
    for (const [k, c] of Object.entries(STATUS_COLOURS)) add(c, k);
    for (const [k, c] of Object.entries(LABEL_COLOURS)) add(c, `track: ${k}`);
    add("#ff00ff", "spoof flag"); add("#fcc419", "manned + well clear"); add("#cc5de8", "protected zone");
    add("#ff4d4f", "keep-out (solid: active)");
  }
  function renderDetails() {
    const box = $("details"), s = S.selected;
    if (!s) return;
    let text = "";
    if (s.kind === "drone" && s.i < S.status.length) {
      const i = s.i, [lat, lon] = toLatLon(S.pos[3 * i], S.pos[3 * i + 1]);
      const fleet = S.hello.fleets[S.fleetOf[i]];
      const task = S.tasks.find((t) => t[3].includes(i));
      text = `drone ${i} · fleet ${fleet.name} (#${i - fleet.start})\nstatus ${S.hello.statuses[S.status[i]]}\n` +
        `${lat.toFixed(6)}, ${lon.toFixed(6)} · ${S.pos[3 * i + 2].toFixed(1)} m` + (task ? `\ntask ${task[0]}` : "");
    } else if (s.kind === "track") {
      const t = S.tracks.find((r) => r[0] === s.id);
      if (!t) text = `track ${s.id}: no longer confirmed`;
      else {
        const [lat, lon] = toLatLon(t[1], t[2]);
        text = `track ${t[0]} · ${t[6]}${t[7] ? " · " + t[7] : ""}${t[8] ? " · POSSIBLE SPOOF" : ""}\n` +
          `${lat.toFixed(6)}, ${lon.toFixed(6)} · ${t[3].toFixed(0)} m · ${Math.hypot(t[4], t[5]).toFixed(1)} m/s`;
      }
    } else if (s.kind === "manned") {
      const m = S.manned.find((r) => r[0] === s.id);
      if (m) text = `${m[0]} · ${m[6] ? "aircraft" : "ground vehicle"}\n${m[3].toFixed(0)} m · ` +
        `${Math.hypot(m[4], m[5]).toFixed(1)} m/s`;
    }
    box.textContent = text; box.className = ""; box.style.whiteSpace = "pre-wrap";
  }
  let toastTimer = 0;
  function toast(text, ok) {
    const t = $("toast"); t.textContent = text; t.hidden = false; t.className = ok ? "info" : "";
    clearTimeout(toastTimer); toastTimer = setTimeout(() => { t.hidden = true; }, ok ? 2500 : 6000);
  }

  // -- drawing ----------------------------------------------------------------------------------------------
  const tileCache = new Map();
  function drawTiles() {
    const mpp = 1 / S.view.scale;
    const z = Math.max(0, Math.min(19, Math.round(Math.log2(156543.03 * cos0 / mpp))));
    const n = 2 ** z;
    const tx = (lon) => (lon + 180) / 360 * n;
    const ty = (lat) => { const r = lat * Math.PI / 180; return (1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2 * n; };
    const lonOf = (x) => x / n * 360 - 180;
    const latOf = (y) => Math.atan(Math.sinh(Math.PI * (1 - 2 * y / n))) * 180 / Math.PI;
    const [la0, lo0] = toLatLon(mx(0), my(H)), [la1, lo1] = toLatLon(mx(W), my(0));
    const x0 = Math.floor(tx(lo0)), x1 = Math.floor(tx(lo1)), y0 = Math.floor(ty(la1)), y1 = Math.floor(ty(la0));
    if ((x1 - x0 + 1) * (y1 - y0 + 1) > 80) return;
    for (let x = x0; x <= x1; x++) for (let y = y0; y <= y1; y++) {
      const key = `${z}/${x}/${y}`;
      let img = tileCache.get(key);
      if (!img) { img = new Image(); img.src = `https://tile.openstreetmap.org/${key}.png`; tileCache.set(key, img); }
      if (!img.complete || !img.naturalWidth) continue;
      const [ax, ay] = toXY(latOf(y), lonOf(x)), [bx, by] = toXY(latOf(y + 1), lonOf(x + 1));
      ctx.drawImage(img, sx(ax), sy(ay), sx(bx) - sx(ax), sy(by) - sy(ay));
    }
  }
  function drawGrid() {
    const target = 120 / S.view.scale;
    const p = 10 ** Math.floor(Math.log10(target));
    const step = [1, 2, 5, 10].map((k) => k * p).find((s) => s >= target) || 10 * p;
    ctx.strokeStyle = S.tiles ? "rgba(0,0,0,.15)" : "#1d252e"; ctx.lineWidth = 1; ctx.beginPath();
    for (let x = Math.floor(mx(0) / step) * step; x <= mx(W); x += step) { ctx.moveTo(sx(x), 0); ctx.lineTo(sx(x), H); }
    for (let y = Math.floor(my(H) / step) * step; y <= my(0); y += step) { ctx.moveTo(0, sy(y)); ctx.lineTo(W, sy(y)); }
    ctx.stroke();
    $("scale").textContent = `grid ${step >= 1000 ? step / 1000 + " km" : step + " m"}`;
  }
  function path(ring) { ctx.beginPath(); ring.forEach(([x, y], k) => (k ? ctx.lineTo(sx(x), sy(y)) : ctx.moveTo(sx(x), sy(y)))); ctx.closePath(); }
  function drawCoverage() {
    const c = S.coverage;
    if (!c) return;
    const { nx, ny, x0, y0, cell } = c.head;
    if (!c.image) {
      const off = document.createElement("canvas"); off.width = nx; off.height = ny;
      const o = off.getContext("2d"), img = o.createImageData(nx, ny);
      for (let i = 0; i < nx; i++) for (let j = 0; j < ny; j++) {
        const v = c.cells[i * ny + j], k = 4 * ((ny - 1 - j) * nx + i);
        if (v === 1) { img.data[k] = 120; img.data[k + 1] = 120; img.data[k + 2] = 140; img.data[k + 3] = 50; }
        else if (v === 2) { img.data[k] = 64; img.data[k + 1] = 192; img.data[k + 2] = 87; img.data[k + 3] = 90; }
      }
      o.putImageData(img, 0, 0); c.image = off;
    }
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(c.image, sx(x0), sy(y0 + ny * cell), nx * cell * S.view.scale, ny * cell * S.view.scale);
  }
  function drawFences() {
    for (const f of S.state.fences) {
      const keepOut = f.kind === "keep_out";
      ctx.setLineDash(f.active ? [] : [6, 4]);
      ctx.lineWidth = f.active ? 2 : 1;
      ctx.strokeStyle = keepOut ? (f.active ? "#ff4d4f" : "#8a4a4a") : (f.active ? "#40c057" : "#3f6b49");
      ctx.fillStyle = keepOut ? "rgba(255,77,79,.18)" : "rgba(64,192,87,.05)";
      for (const r of f.rings) { path(r); if (f.active) ctx.fill(); ctx.stroke(); }
    }
    ctx.setLineDash([6, 3]); ctx.strokeStyle = "#cc5de8"; ctx.fillStyle = "#cc5de8"; ctx.lineWidth = 1.5;
    for (const z of (S.state.zones || [])) { path(z.ring); ctx.stroke(); ctx.fillText(`zone ${z.name}`, sx(z.ring[0][0]) + 4, sy(z.ring[0][1]) - 4); }
    ctx.setLineDash([]); ctx.lineWidth = 1;
  }
  function drawTasks() {
    const defs = Object.fromEntries(S.state.tasks.map((t) => [t.id, t]));
    const progress = Object.fromEntries(S.tasks.map((t) => [t[0], t]));
    for (const t of S.state.tasks) {
      const p = progress[t.id], done = p && p[2] && p[1] === p[2];
      const colour = t.cancelled ? "#868e96" : done ? "#51cf66" : "#fab005";
      ctx.strokeStyle = colour; ctx.fillStyle = colour; ctx.lineWidth = 1.5;
      if (t.area) { ctx.setLineDash([4, 3]); path(t.area); ctx.stroke(); ctx.setLineDash([]); }
      else for (const q of (t.points || [])) {
        const x = sx(q[0]), y = sy(q[1]);
        ctx.beginPath(); ctx.moveTo(x, y - 7); ctx.lineTo(x + 7, y); ctx.lineTo(x, y + 7); ctx.lineTo(x - 7, y); ctx.closePath(); ctx.stroke();
        ctx.fillText(t.id, x + 9, y - 6);
      }
      if (p && !t.cancelled && !done && !t.area && t.points && t.points.length === 1) {
        ctx.strokeStyle = "rgba(250,176,5,.45)"; ctx.beginPath();
        const goal = t.points[0];
        for (const i of p[3]) if (i < S.status.length) { ctx.moveTo(sx(S.pos[3 * i]), sy(S.pos[3 * i + 1])); ctx.lineTo(sx(goal[0]), sy(goal[1])); }
        ctx.stroke();
      }
      void defs;
    }
  }
  function drawLinks() {
    if (!S.linksOn || !S.links) return;
    const n = S.links.head.n_drones, st = S.state.stations, pairs = S.links.pairs;
    const at = (k) => (k < n ? [S.pos[3 * k], S.pos[3 * k + 1]] : k - n < st.length ? st[k - n].pos
                      : (S.manned[k - n - st.length] || [0, 0, 0]).slice(1, 3));
    ctx.strokeStyle = "rgba(116,192,252,.25)"; ctx.lineWidth = 1; ctx.beginPath();
    for (let k = 0; k < pairs.length; k += 2) {
      const a = at(pairs[k]), b = at(pairs[k + 1]);
      ctx.moveTo(sx(a[0]), sy(a[1])); ctx.lineTo(sx(b[0]), sy(b[1]));
    }
    ctx.stroke();
  }
  function drawDrones() {
    const n = S.status.length, size = Math.max(2, Math.min(6, 4 * S.view.scale));
    const names = S.hello ? S.hello.statuses : [];
    // one path per colour: active drones by fleet, the others by status
    const groups = new Map();
    for (let i = 0; i < n; i++) {
      const st = names[S.status[i]];
      const colour = st === "active" ? FLEET_COLOURS[S.fleetOf[i] % FLEET_COLOURS.length] : STATUS_COLOURS[st] || "#fff";
      let g = groups.get(colour); if (!g) { g = []; groups.set(colour, g); }
      g.push(i);
    }
    const h = size / 2;
    for (const [colour, idx] of groups) {
      ctx.fillStyle = colour; ctx.beginPath();
      for (const i of idx) ctx.rect(sx(S.pos[3 * i]) - h, sy(S.pos[3 * i + 1]) - h, size, size);
      ctx.fill();
    }
    S.drawnDrones = n;
  }
  function drawStations() {
    ctx.fillStyle = "#e9ecef"; ctx.strokeStyle = "#000";
    for (const s of S.state.stations) {
      const x = sx(s.pos[0]), y = sy(s.pos[1]);
      ctx.beginPath(); ctx.moveTo(x, y - 8); ctx.lineTo(x + 7, y + 5); ctx.lineTo(x - 7, y + 5); ctx.closePath(); ctx.fill(); ctx.stroke();
      ctx.fillText(s.name, x + 9, y + 4);
    }
  }
  function drawManned() {
    const wc = S.hello ? S.hello.well_clear_m : 600;
    for (const [name, x, y, z, vx, vy, air] of S.manned) {
      const px = sx(x), py = sy(y);
      if (air) { ctx.strokeStyle = "rgba(252,196,25,.6)"; ctx.setLineDash([5, 5]); ctx.beginPath();
                 ctx.arc(px, py, wc * S.view.scale, 0, 2 * Math.PI); ctx.stroke(); ctx.setLineDash([]); }
      ctx.fillStyle = "#fcc419"; ctx.beginPath(); ctx.arc(px, py, 5, 0, 2 * Math.PI); ctx.fill();
      ctx.strokeStyle = "#fcc419"; ctx.beginPath(); ctx.moveTo(px, py); ctx.lineTo(px + vx * 0.4, py - vy * 0.4); ctx.stroke();
      ctx.fillText(`${name} ${z.toFixed(0)} m`, px + 8, py - 6);
    }
  }
  function drawTracks() {
    for (const [id, x, y, z, vx, vy, label, ident, spoof] of S.tracks) {
      const px = sx(x), py = sy(y);
      ctx.strokeStyle = LABEL_COLOURS[label] || "#fff"; ctx.lineWidth = label === "swarm" ? 0.5 : 2;
      ctx.strokeRect(px - 6, py - 6, 12, 12);
      ctx.beginPath(); ctx.moveTo(px, py); ctx.lineTo(px + vx * 2, py - vy * 2); ctx.stroke();
      if (spoof) { ctx.strokeStyle = "#ff00ff"; ctx.strokeRect(px - 9, py - 9, 18, 18); }
      if (label !== "swarm") { ctx.fillStyle = LABEL_COLOURS[label] || "#fff"; ctx.fillText(`T${id} ${label}${ident ? " " + ident : ""}${spoof ? " SPOOF?" : ""}`, px + 10, py + 4); }
    }
    ctx.lineWidth = 1;
  }
  function drawDraft() {
    if (!S.draft.length) return;
    ctx.strokeStyle = S.tool === "keepout" ? "#ff4d4f" : "#fab005"; ctx.lineWidth = 2; ctx.setLineDash([3, 3]);
    ctx.beginPath();
    S.draft.forEach(([x, y], k) => (k ? ctx.lineTo(sx(x), sy(y)) : ctx.moveTo(sx(x), sy(y))));
    if (S.hover) ctx.lineTo(S.hover[0], S.hover[1]);
    ctx.stroke(); ctx.setLineDash([]); ctx.lineWidth = 1;
  }
  function drawSelection() {
    const s = S.selected;
    if (!s || s.kind !== "drone" || s.i >= S.status.length) return;
    ctx.strokeStyle = "#fff"; ctx.lineWidth = 2; ctx.beginPath();
    ctx.arc(sx(S.pos[3 * s.i]), sy(S.pos[3 * s.i + 1]), 9, 0, 2 * Math.PI); ctx.stroke(); ctx.lineWidth = 1;
  }

  let fpsT = performance.now(), fpsN = 0;
  function draw(now) {
    requestAnimationFrame(draw);
    if (!W) return;
    ctx.setTransform(DPR, 0, 0, DPR, 0, 0);
    ctx.fillStyle = "#121a21"; ctx.fillRect(0, 0, W, H);
    ctx.font = "11px system-ui, sans-serif";
    if (S.tiles) drawTiles();
    drawGrid(); drawCoverage(); drawFences(); drawLinks(); drawTasks(); drawStations(); drawDrones(); drawManned();
    drawTracks(); drawDraft(); drawSelection();
    S.draws++; fpsN++;
    if (now - fpsT >= 1000) { S.fps = fpsN * 1000 / (now - fpsT); fpsN = 0; fpsT = now; }
  }

  // -- input ------------------------------------------------------------------------------------------------
  function setTool(t) {
    S.tool = t; S.draft = [];
    for (const b of document.querySelectorAll("#tools button[data-tool]")) b.classList.toggle("on", b.dataset.tool === t);
    $("finish").disabled = !["search", "survey", "keepout"].includes(t);
  }
  function finishDraft() {
    if (S.draft.length < 3) { toast("an area needs at least 3 corners", false); return; }
    const ring = S.draft.map(([x, y]) => { const [lat, lon] = toLatLon(x, y); return [lon, lat]; });
    if (S.tool === "keepout") send({ op: "add_keep_out", polygon: ring });
    else send({ op: "add_task", kind: S.tool, area: ring });
    setTool("select");
  }
  function pick(px, py) {
    let best = null, bd = 10;
    for (const t of S.tracks) { const d = Math.hypot(sx(t[1]) - px, sy(t[2]) - py); if (d < bd && t[6] !== "swarm") { bd = d; best = { kind: "track", id: t[0] }; } }
    for (const m of S.manned) { const d = Math.hypot(sx(m[1]) - px, sy(m[2]) - py); if (d < bd) { bd = d; best = { kind: "manned", id: m[0] }; } }
    for (let i = 0; i < S.status.length; i++) {
      const d = Math.hypot(sx(S.pos[3 * i]) - px, sy(S.pos[3 * i + 1]) - py);
      if (d < bd) { bd = d; best = { kind: "drone", i }; }
    }
    S.selected = best;
    if (!best) { $("details").textContent = "click a drone or a track"; $("details").className = "muted"; }
    renderDetails();
  }
  let drag = null;
  canvas.addEventListener("mousedown", (e) => { drag = { x: e.offsetX, y: e.offsetY, moved: false }; });
  canvas.addEventListener("mousemove", (e) => {
    S.hover = [e.offsetX, e.offsetY];
    if (!drag) return;
    const dx = e.offsetX - drag.x, dy = e.offsetY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
    if (drag.moved) { S.view.cx -= dx / S.view.scale; S.view.cy += dy / S.view.scale; drag.x = e.offsetX; drag.y = e.offsetY; }
  });
  canvas.addEventListener("mouseup", (e) => {
    const moved = drag && drag.moved; drag = null;
    if (moved) return;
    const x = mx(e.offsetX), y = my(e.offsetY);
    if (S.tool === "select") pick(e.offsetX, e.offsetY);
    else if (S.tool === "inspect" || S.tool === "loiter") {
      const [lat, lon] = toLatLon(x, y);
      send({ op: "add_task", kind: S.tool, lat, lon });
      setTool("select");
    } else if (e.detail < 2) S.draft.push([x, y]);
  });
  canvas.addEventListener("dblclick", (e) => { if (S.draft.length >= 3) finishDraft(); e.preventDefault(); });
  canvas.addEventListener("wheel", (e) => {
    e.preventDefault();
    const x = mx(e.offsetX), y = my(e.offsetY), k = Math.exp(-e.deltaY * 0.0015);
    S.view.scale = Math.min(50, Math.max(1e-4, S.view.scale * k));
    S.view.cx = x - (e.offsetX - W / 2) / S.view.scale; S.view.cy = y + (e.offsetY - H / 2) / S.view.scale;
  }, { passive: false });
  window.addEventListener("keydown", (e) => {
    if (e.target.tagName === "INPUT" || e.target.tagName === "SELECT") return;
    if (e.key === "Escape") setTool("select");
    else if (e.key === "Enter" && S.draft.length) finishDraft();
    else if (e.key === " ") { e.preventDefault(); $("pause").click(); }
  });
  for (const b of document.querySelectorAll("#tools button[data-tool]")) b.onclick = () => setTool(b.dataset.tool);
  $("finish").onclick = finishDraft;
  $("pause").onclick = () => send({ op: S.frame && S.frame.paused ? "resume" : "pause" });
  $("rplay").onclick = () => send({ op: S.frame && S.frame.paused ? "resume" : "pause" });
  $("speed").onchange = () => send({ op: "speed", value: parseFloat($("speed").value) });
  $("timeline").onchange = () => send({ op: "seek", t: parseFloat($("timeline").value) });
  $("links").onchange = () => { S.linksOn = $("links").checked; send({ op: "links", on: S.linksOn }); if (!S.linksOn) S.links = null; };
  $("tiles").checked = S.tiles;
  $("tiles").onchange = () => { S.tiles = $("tiles").checked; attribution(); };
  function attribution() { $("attribution").textContent = S.tiles ? "map tiles © OpenStreetMap contributors" : "offline grid"; }
  attribution();
  window.addEventListener("resize", resize);

  // -- for tests and the curious: window.skyhive --------------------------------------------------------------
  window.skyhive = {
    S, send, setTool, toLatLon, toXY,
    screenOf: (lat, lon) => { const [x, y] = toXY(lat, lon); const r = canvas.getBoundingClientRect();
                              return [r.left + sx(x), r.top + sy(y)]; },
    droneLayerCount: () => S.drawnDrones || 0,
    nearestDrone: (lat, lon) => {
      const [x, y] = toXY(lat, lon); let best = Infinity, who = -1;
      for (let i = 0; i < S.status.length; i++) { const d = Math.hypot(S.pos[3 * i] - x, S.pos[3 * i + 1] - y); if (d < best) { best = d; who = i; } }
      return [who, best];
    },
  };
  resize();
  connect();
  requestAnimationFrame(draw);
})();

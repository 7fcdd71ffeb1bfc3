// backprop playground: the Go engine on the server trains the network;
// this script sends the controls' choices and draws the state it gets
// back (decision boundary, neurons as heat maps, weights as edges, the
// step mode's stages).
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const DATASETS = ["circles", "xor", "blobs", "spiral", "moons", "catdog"];
  const LRS = [0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
  const L2S = [0, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1];
  const STEPS_PER_FRAME = 20; // an epoch of 200 points in batches of 10, as TensorFlow Playground
  const cfg = { dataset: "circles", noise: 0, hidden: [4, 2], activation: "tanh", lr: 0.1, batchSize: 10, l2: 0, seed: 1, loss: "" };
  // geom records where drawNetwork put each neuron and edge, for hovering.
  let geom = { neurons: [], edges: [] };
  // focus is the batch point (an index into the stage's batch) whose
  // numbers the neurons' details show; clicking a ringed point chooses it.
  let focus = 0;
  // num shows four significant digits, as backprop explain prints them.
  const num = (v) => (v === 0 ? "0" : String(Number(v.toPrecision(4))));
  let S = null; // the last state from the server
  let playing = false;
  let loss = [[], [], []]; // step, train, test
  window.playgroundState = () => S; // read by the end-to-end test

  async function api(name, body) {
    const opts = name === "state" ? {} : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body || {}) };
    const r = await fetch("/api/playground/" + name, opts);
    if (!r.ok) {
      // The server answers errors as {"error": "..."}.
      const text = await r.text();
      let msg = text;
      try { msg = JSON.parse(text).error || text; } catch (_) { /* not JSON */ }
      throw new Error(msg);
    }
    return r.json();
  }

  // ---- colours and heat maps ----
  const BLUE = [8, 119, 189], ORANGE = [245, 147, 34];
  // colour maps v in [-1, 1] to blue, white, orange.
  function colour(v) {
    const c = v < 0 ? BLUE : ORANGE, a = Math.min(1, Math.abs(v));
    return [255 + (c[0] - 255) * a, 255 + (c[1] - 255) * a, 255 + (c[2] - 255) * a];
  }
  const css = (v, alpha = 1) => { const [r, g, b] = colour(v); return `rgba(${r | 0},${g | 0},${b | 0},${alpha})`; };
  const decode = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));

  // heatCanvas draws a grid of values in [-1, 1] on a small canvas, to be
  // scaled up with smoothing when drawn.
  function heatCanvas(n, value) {
    const c = document.createElement("canvas");
    c.width = c.height = n;
    const ctx = c.getContext("2d");
    const img = ctx.createImageData(n, n);
    for (let i = 0; i < n * n; i++) {
      const [r, g, b] = colour(value(i));
      img.data[4 * i] = r; img.data[4 * i + 1] = g; img.data[4 * i + 2] = b; img.data[4 * i + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
    return c;
  }
  const byteMap = (bytes) => (i) => (bytes[i] / 255) * 2 - 1;

  // ---- the network diagram ----
  function drawNetwork() {
    const cv = $("net"), ctx = cv.getContext("2d");
    const n = S.grid;
    const widths = [2, ...S.config.hidden, 1];
    const box = 40, pad = 46;
    // The canvas is as tall as the widest layer needs.
    const H = Math.max(240, Math.max(...widths) * (box + 14) + 40), W = cv.width;
    if (cv.height !== H) cv.height = H;
    const colX = (l) => pad + (l * (W - 2 * pad - box)) / (widths.length - 1);
    const rowY = (l, j) => 12 + H / 2 + (j - (widths[l] - 1) / 2) * (box + 14) - box / 2;
    ctx.clearRect(0, 0, W, H);
    geom = { neurons: [], edges: [], box };

    // Maps of every neuron: inputs are x1 and x2 themselves.
    const maps = [[
      heatCanvas(n, (i) => ((i % n) + 0.5) / n * 2 - 1),
      heatCanvas(n, (i) => 1 - (Math.floor(i / n) + 0.5) / n * 2),
    ]];
    for (const layer of S.neurons || []) maps.push(layer.map((b) => heatCanvas(n, byteMap(decode(b)))));
    maps.push([heatCanvas(n, byteMap(decode(S.boundary)))]);

    // Edges: weights, or in step mode the gradients and the updates.
    const st = S.stage;
    let values = S.layers.map((l) => l.weights);
    let scale = (v) => Math.min(8, 0.4 + Math.abs(v) * 1.6);
    const shown = st && ((st.name === "backward" && st.grads) || (st.name === "update" && st.deltas));
    if (shown) {
      // Gradients and updates are far smaller than weights: scale them by
      // the largest one so that their pattern shows.
      values = shown.map((l) => l.weights);
      const peak = Math.max(1e-12, ...values.flat(2).map(Math.abs));
      scale = (v) => 0.4 + (7 * Math.abs(v)) / peak;
    }
    for (let l = 0; l + 1 < widths.length; l++) {
      for (let j = 0; j < widths[l + 1]; j++) {
        for (let i = 0; i < widths[l]; i++) {
          const v = values[l][j][i];
          ctx.strokeStyle = css(Math.sign(v), 0.85);
          ctx.lineWidth = scale(v);
          ctx.beginPath();
          const x0 = colX(l) + box, y0 = rowY(l, i) + box / 2, x1 = colX(l + 1), y1 = rowY(l + 1, j) + box / 2;
          ctx.moveTo(x0, y0);
          ctx.bezierCurveTo((x0 + x1) / 2, y0, (x0 + x1) / 2, y1, x1, y1);
          geom.edges.push({ l, j, i, x0, y0, x1, y1 });
          ctx.stroke();
        }
      }
    }
    // Neurons, with a ring for their mean activation in the forward stage.
    ctx.imageSmoothingEnabled = true;
    ctx.font = "11px system-ui";
    for (let l = 0; l < widths.length; l++) {
      for (let j = 0; j < widths[l]; j++) {
        const x = colX(l), y = rowY(l, j);
        geom.neurons.push({ l, j, x, y });
        ctx.drawImage(maps[l][j], x, y, box, box);
        ctx.lineWidth = 1;
        ctx.strokeStyle = "#98a2b3";
        ctx.strokeRect(x, y, box, box);
        if (st && st.activations && l > 0 && (st.name === "forward" || st.name === "loss")) {
          const a = st.activations[l - 1][j];
          const v = l === widths.length - 1 ? 2 * a - 1 : a;
          ctx.lineWidth = 1 + 5 * Math.min(1, Math.abs(v));
          ctx.strokeStyle = css(Math.sign(v) || 1, 0.35 + 0.65 * Math.min(1, Math.abs(v)));
          ctx.strokeRect(x - 3, y - 3, box + 6, box + 6);
        }
      }
      ctx.fillStyle = "#667085";
      const label = l === 0 ? "input" : l === widths.length - 1 ? "output" : "layer " + l;
      ctx.fillText(label, colX(l) + box / 2 - ctx.measureText(label).width / 2, 14);
    }
    ctx.fillStyle = "#1d2330";
    ctx.fillText("x₁", colX(0) - 18, rowY(0, 0) + box / 2 + 4);
    ctx.fillText("x₂", colX(0) - 18, rowY(0, 1) + box / 2 + 4);
  }

  // ---- hover details: a weight's value, gradient and update; a neuron's
  // weighted sum and activation for the step's first point ----
  // bezier returns the point at t of the edge's curve, as drawn.
  function bezier(e, t) {
    const mx = (e.x0 + e.x1) / 2, u = 1 - t;
    return [u * u * u * e.x0 + 3 * u * u * t * mx + 3 * u * t * t * mx + t * t * t * e.x1,
      u * u * u * e.y0 + 3 * u * u * t * e.y0 + 3 * u * t * t * e.y1 + t * t * t * e.y1];
  }
  function hit(px, py) {
    const box = geom.box;
    const n = geom.neurons.find((n) => px >= n.x && px <= n.x + box && py >= n.y && py <= n.y + box);
    if (n) return { kind: "neuron", ...n };
    let best = null, bestD = 6;
    for (const e of geom.edges) {
      for (let k = 0; k <= 24; k++) {
        const [x, y] = bezier(e, k / 24), d = Math.hypot(x - px, y - py);
        if (d < bestD) { bestD = d; best = { kind: "edge", ...e }; }
      }
    }
    return best;
  }
  const neuronName = (l, j) => {
    const last = 1 + S.config.hidden.length;
    return l === 0 ? "input x" + (j + 1) : l === last ? "the output neuron" : "neuron " + (j + 1) + " of layer " + l;
  };
  function details(h) {
    const st = S.stage, lines = [];
    if (h.kind === "edge") {
      const w = S.layers[h.l].weights[h.j][h.i];
      lines.push("weight from " + neuronName(h.l, h.i) + " to " + neuronName(h.l + 1, h.j));
      const grads = st && st.grads && st.grads[h.l], deltas = st && st.deltas && st.deltas[h.l];
      if (deltas) {
        const d = deltas.weights[h.j][h.i], g = grads.weights[h.j][h.i];
        lines.push("before the update: " + num(w - d));
        lines.push("gradient: " + num(g));
        lines.push("update: " + num(w - d) + " − " + num(S.config.lr) + " × " + num(g) + (S.config.l2 ? " (and L2 decay)" : "") + " = " + num(w));
      } else {
        lines.push("value: " + num(w));
        if (grads) {
          const g = grads.weights[h.j][h.i];
          lines.push("gradient: " + num(g) + " (if this weight grew by 0.01, the error would change by about " + num(0.01 * g) + ")");
        } else {
          lines.push("gradient: step to the backward pass to see it");
        }
      }
      return lines;
    }
    lines.push(neuronName(h.l, h.j));
    if (!st || !st.pointSums) {
      lines.push(h.l === 0 ? "an input: the point's " + (h.j ? "y" : "x") + " coordinate" : "bias: " + num(S.layers[h.l - 1].biases[h.j]));
      lines.push("step to see its numbers for one point");
      return lines;
    }
    const f = Math.min(focus, st.batch.length - 1), k = st.batch[f], p = S.train[k];
    lines.push("for training point " + (k + 1) + " at (" + num(p.x) + ", " + num(p.y) + ")" + (st.batch.length > 1 ? " (click another ringed point to choose)" : "") + ":");
    if (h.l === 0) {
      lines.push("value: " + num(h.j ? p.y : p.x));
      return lines;
    }
    const last = h.l === 1 + S.config.hidden.length;
    lines.push("weighted sum (Σ weight × input + bias): " + num(st.pointSums[f][h.l - 1][h.j]));
    lines.push((last ? "sigmoid: probability of orange " : S.config.activation + ": output ") + num(st.pointOutputs[f][h.l - 1][h.j]));
    return lines;
  }
  function showTip(ev) {
    const cv = $("net"), r = cv.getBoundingClientRect();
    const px = ((ev.clientX - r.left) * cv.width) / r.width, py = ((ev.clientY - r.top) * cv.height) / r.height;
    const h = S && hit(px, py), tip = $("tip");
    if (!h) { tip.hidden = true; tip.dataset.kind = ""; return; }
    tip.replaceChildren(...details(h).map((t) => { const d = document.createElement("div"); d.textContent = t; return d; }));
    tip.dataset.kind = h.kind;
    tip.style.left = ev.pageX + 14 + "px";
    tip.style.top = ev.pageY + 10 + "px";
    tip.hidden = false;
  }
  // playgroundSpot gives the page coordinates of a neuron's centre or an
  // edge's middle, for the end-to-end test to point at.
  // playgroundPointSpot gives the page coordinates of batch point i on the
  // decision boundary plot, for the test to click.
  window.playgroundPointSpot = (i) => {
    const cv = $("boundary"), r = cv.getBoundingClientRect();
    const [x, y] = geom.pointPx(S.train[S.stage.batch[i]]);
    return { x: r.left + (x * r.width) / cv.width, y: r.top + (y * r.height) / cv.height };
  };
  window.playgroundSpot = (kind, l, j, i) => {
    const cv = $("net"), r = cv.getBoundingClientRect(), sx = r.width / cv.width, sy = r.height / cv.height;
    let x, y;
    if (kind === "neuron") {
      const n = geom.neurons.find((n) => n.l === l && n.j === j);
      [x, y] = [n.x + geom.box / 2, n.y + geom.box / 2];
    } else {
      [x, y] = bezier(geom.edges.find((e) => e.l === l && e.j === j && e.i === i), 0.5);
    }
    return { x: r.left + x * sx, y: r.top + y * sy };
  };

  // ---- the output plot ----
  function drawBoundary() {
    const cv = $("boundary"), ctx = cv.getContext("2d");
    const W = cv.width, H = cv.height, D = S.domain;
    ctx.imageSmoothingEnabled = true;
    // A paler background than the neurons', so that the points show on it.
    const p = byteMap(decode(S.boundary));
    ctx.drawImage(heatCanvas(S.grid, (i) => 0.6 * p(i)), 0, 0, W, H);
    const C = S.center || 0;
    const px = (p) => [((p.x - C + D) / (2 * D)) * W, ((D - p.y + C) / (2 * D)) * H];
    geom.pointPx = px;
    const dot = (p, filled) => {
      const [x, y] = px(p);
      ctx.beginPath();
      ctx.arc(x, y, 3.2, 0, 2 * Math.PI);
      ctx.fillStyle = filled ? css(p.label ? 1 : -1) : "#fff";
      ctx.strokeStyle = filled ? "#fff" : css(p.label ? 1 : -1);
      ctx.lineWidth = filled ? 1 : 1.6;
      ctx.fill();
      ctx.stroke();
    };
    S.test.forEach((p) => dot(p, false));
    S.train.forEach((p) => dot(p, true));
    const st = S.stage;
    if (st && st.batch && st.name !== "update") {
      st.batch.forEach((k, i) => {
        const p = S.train[k], [x, y] = px(p);
        ctx.lineWidth = i === focus ? 3.5 : 2;
        ctx.strokeStyle = "#1d2330";
        ctx.beginPath();
        ctx.arc(x, y, i === focus ? 9 : 7, 0, 2 * Math.PI);
        ctx.stroke();
        if (st.predictions && (st.predictions[i] >= 0.5) !== (p.label === 1)) {
          ctx.strokeStyle = "#d92d20";
          ctx.beginPath();
          ctx.moveTo(x - 6, y - 6); ctx.lineTo(x + 6, y + 6);
          ctx.moveTo(x + 6, y - 6); ctx.lineTo(x - 6, y + 6);
          ctx.stroke();
        }
      });
    }
    cv.dataset.hash = S.boundaryHash;
    cv.dataset.pixelHash = pixelHash(ctx.getImageData(0, 0, W, H).data);
  }

  // pixelHash is FNV-1a over the canvas's pixels: the test compares it
  // before and after training to see that what is drawn changed.
  function pixelHash(d) {
    let h = 0x811c9dc5;
    for (let i = 0; i < d.length; i++) { h ^= d[i]; h = Math.imul(h, 0x01000193); }
    return (h >>> 0).toString(16).padStart(8, "0");
  }

  // ---- loss chart ----
  let plot = null;
  function drawLoss() {
    if (!plot) {
      plot = new uPlot({
        width: Math.max($("lossplot").clientWidth, 280), height: 170,
        scales: { x: { time: false } },
        axes: [{ label: "step" }, { size: 50 }],
        series: [{ label: "step" }, { label: "train", stroke: "#0877bd", width: 1.5 }, { label: "test", stroke: "#f59322", width: 1.5 }],
      }, loss, $("lossplot"));
    } else {
      plot.setData(loss);
    }
  }

  // ---- stage captions ----
  function drawStage() {
    const st = S.stage;
    $("caption").textContent = st ? st.caption : "";
    [...$("stages").children].forEach((el, i) => {
      el.className = st && i + 1 === st.index ? "active" : st && i + 1 < st.index ? "done" : "";
    });
    document.body.dataset.stage = st ? st.name : "";
  }

  function apply(s) {
    S = s;
    // A new batch (the forward stage) starts with its first point in focus.
    if (!s.stage || s.stage.name === "forward") focus = 0;
    const last = loss[0][loss[0].length - 1];
    if (last === undefined || s.step > last) {
      loss[0].push(s.step); loss[1].push(s.trainLoss); loss[2].push(s.testLoss);
    }
    $("s-step").textContent = s.step;
    $("s-epoch").textContent = s.epoch;
    $("s-train").textContent = s.trainLoss.toFixed(3);
    $("s-test").textContent = s.testLoss.toFixed(3);
    drawNetwork();
    drawBoundary();
    drawLoss();
    drawStage();
    document.body.dataset.step = s.step;
    document.body.dataset.status = "ready";
  }

  function fail(e) {
    playing = false;
    $("play").textContent = "▶ Play";
    $("caption").textContent = "Error: " + e.message;
  }

  // ---- controls ----
  async function reset() {
    loss = [[], [], []];
    try { apply(await api("reset", cfg)); } catch (e) { fail(e); }
  }

  async function loop() {
    while (playing) {
      try { apply(await api("train", { steps: STEPS_PER_FRAME })); } catch (e) { fail(e); return; }
      await new Promise((r) => requestAnimationFrame(r));
    }
  }

  function setPlaying(on) {
    playing = on;
    $("play").textContent = on ? "❚❚ Pause" : "▶ Play";
    document.body.dataset.playing = on ? "1" : "";
    if (on) loop();
  }

  function layerControls() {
    const el = $("layers");
    const btn = (text, title, f) => { const b = document.createElement("button"); b.textContent = text; b.title = title; b.onclick = f; return b; };
    const items = [
      btn("− layer", "remove a hidden layer", () => { if (cfg.hidden.length > 0) { cfg.hidden.pop(); changed(); } }),
      btn("+ layer", "add a hidden layer", () => { if (cfg.hidden.length < 6) { cfg.hidden.push(2); changed(); } }),
    ];
    cfg.hidden.forEach((w, i) => {
      const box = document.createElement("span");
      box.className = "layerctl";
      const count = document.createElement("span");
      count.textContent = "L" + (i + 1) + ": " + w;
      box.append(btn("+", "add a neuron", () => { if (cfg.hidden[i] < 8) { cfg.hidden[i]++; changed(); } }), count,
        btn("−", "remove a neuron", () => { if (cfg.hidden[i] > 1) { cfg.hidden[i]--; changed(); } }));
      items.push(box);
    });
    el.replaceChildren(...items);
  }

  function changed() {
    layerControls();
    [...$("datasets").children].forEach((b) => b.classList.toggle("on", b.textContent === cfg.dataset));
    $("noise-v").textContent = Math.round(cfg.noise * 100) + "%";
    $("batch-v").textContent = cfg.batchSize;
    reset();
  }

  function setup() {
    $("datasets").replaceChildren(...DATASETS.map((d) => {
      const b = document.createElement("button");
      b.textContent = d;
      b.onclick = () => {
        cfg.dataset = d;
        if (d === "catdog") {
          // backprop explain's network and run: one photo a step.
          Object.assign(cfg, { hidden: [2], lr: 1, batchSize: 1, activation: "tanh", loss: "squared", l2: 0 });
          $("lr").value = "1"; $("act").value = "tanh"; $("batch").value = "1"; $("l2").value = "0";
        } else {
          cfg.loss = "";
        }
        changed();
      };
      return b;
    }));
    const options = (sel, values, current) => {
      sel.replaceChildren(...values.map((v) => { const o = document.createElement("option"); o.value = v; o.textContent = v; o.selected = v === current; return o; }));
    };
    options($("lr"), LRS, cfg.lr);
    options($("l2"), L2S, cfg.l2);
    // Learning rate and L2 apply from the next step, keeping the weights,
    // as in TensorFlow Playground.
    const tune = async () => { try { apply(await api("tune", { lr: cfg.lr, l2: cfg.l2 })); } catch (e) { fail(e); } };
    $("lr").onchange = (e) => { cfg.lr = +e.target.value; tune(); };
    $("l2").onchange = (e) => { cfg.l2 = +e.target.value; tune(); };
    $("act").onchange = (e) => { cfg.activation = e.target.value; changed(); };
    $("noise").oninput = (e) => { cfg.noise = e.target.value / 100; changed(); };
    $("batch").oninput = (e) => { cfg.batchSize = +e.target.value; changed(); };
    $("regen").onclick = () => { cfg.seed++; changed(); };
    $("play").onclick = () => setPlaying(!playing);
    $("net").addEventListener("mousemove", showTip);
    $("net").addEventListener("click", showTip); // a tap, on a touch screen
    $("net").addEventListener("mouseleave", () => { $("tip").hidden = true; });
    $("boundary").addEventListener("click", (ev) => {
      const st = S && S.stage;
      if (!st || !st.batch || !geom.pointPx) return;
      const cv = $("boundary"), r = cv.getBoundingClientRect();
      const x = ((ev.clientX - r.left) * cv.width) / r.width, y = ((ev.clientY - r.top) * cv.height) / r.height;
      let best = -1, bestD = 10;
      st.batch.forEach((k, i) => {
        const [px, py] = geom.pointPx(S.train[k]), d = Math.hypot(px - x, py - y);
        if (d < bestD) { bestD = d; best = i; }
      });
      if (best >= 0) { focus = best; drawBoundary(); document.body.dataset.focus = String(best); }
    });
    $("reset").onclick = () => { setPlaying(false); reset(); };
    $("step").onclick = async () => {
      setPlaying(false);
      try { apply(await api("advance")); } catch (e) { fail(e); }
    };
    changed();
  }

  setup();
})();

// backprop training dashboard: keeps the run's figures in `state`, merges
// the server-sent events into it, and redraws at most once per frame.
"use strict";
(function () {
  const state = {
    run: null, epochs: [], steps: [], norms: [], histograms: [], confusion: null,
    confusionClasses: null, confusionOther: null, confused: [], classNames: {},
    images: [], evalNote: "", alerts: [], done: false, messages: 0,
  };
  window.dashboardState = state; // read by the end-to-end test

  const palette = ["#0877bd", "#f59322", "#12b76a", "#7a5af8", "#d92d20", "#0e9384", "#c11574", "#667085", "#b54708", "#2e90fa"];
  const $ = (id) => document.getElementById(id);
  const fmt = (v, d = 4) => (v == null || !isFinite(v) ? "–" : Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : (+v).toPrecision(d));

  // merge applies one event: series are appended from where the event
  // says they start (a reconnect starts again from zero), everything else
  // is replaced when present.
  function merge(d) {
    for (const k of ["epochs", "steps", "norms"]) {
      const from = d.from ? d.from[k] : 0;
      state[k].length = Math.min(state[k].length, from);
      for (const p of d[k] || []) state[k].push(p);
    }
    if (d.run) state.run = d.run;
    if (d.histograms) state.histograms = d.histograms;
    if (d.confusion) {
      // A run of many classes gets a partial matrix: its classes, the
      // predictions outside them, the most frequent mistakes.
      state.confusion = d.confusion;
      state.confusionClasses = d.confusionClasses || null;
      state.confusionOther = d.confusionOther || null;
      state.confused = d.confused || [];
      state.classNames = d.classNames || {};
    }
    if (d.images) state.images = d.images;
    if (d.evalNote !== undefined) state.evalNote = d.evalNote;
    state.alerts = d.alerts || [];
    state.done = d.done;
    state.messages++;
  }

  let pending = false;
  function schedule() {
    if (!pending) { pending = true; requestAnimationFrame(() => { pending = false; render(); }); }
  }

  function setStatus(s) {
    const el = $("status");
    el.textContent = s;
    el.className = "badge " + ({ live: "live", finished: "done", disconnected: "off" }[s] || "");
    document.body.dataset.status = s;
  }

  function connect() {
    const es = new EventSource("/api/events");
    es.onmessage = (e) => {
      merge(JSON.parse(e.data));
      setStatus(state.done ? "finished" : "live");
      schedule();
    };
    es.onerror = () => {
      if (state.done) { es.close(); setStatus("finished"); return; }
      setStatus("disconnected"); // EventSource retries by itself
    };
  }

  // ---- charts (uPlot) ----
  const charts = {};
  function chart(id, series, data, opts = {}) {
    const el = $(id);
    const width = Math.max(el.clientWidth, 300);
    const key = series.map((s) => s.label).join("|");
    let c = charts[id];
    if (c && (c.key !== key || Math.abs(c.u.width - width) > 2)) { c.u.destroy(); c = null; }
    if (!c) {
      const u = new uPlot({
        width, height: 200,
        scales: { x: { time: false }, y: opts.log ? { distr: 3 } : {} },
        axes: [{ label: "step" }, { size: 60 }],
        series: [{ label: "step" }, ...series],
        legend: { live: true },
        cursor: { drag: { x: true, y: false } },
      }, data, el);
      charts[id] = c = { u, key };
    } else {
      c.u.setData(data);
    }
  }

  // joinSeries puts step-level and epoch-level figures on one x axis of
  // steps; a series has null where it has no point.
  function joinSeries(lines) {
    const xs = new Set();
    for (const l of lines) for (const p of l.points) xs.add(p[0]);
    const x = [...xs].sort((a, b) => a - b);
    const index = new Map(x.map((v, i) => [v, i]));
    const cols = lines.map((l) => {
      const col = new Array(x.length).fill(null);
      for (const [s, v] of l.points) col[index.get(s)] = v == null || !isFinite(v) ? null : v;
      return col;
    });
    return [x, ...cols];
  }

  const perplexity = (loss) => (loss == null || !isFinite(loss) ? null : Math.exp(loss));
  const line = (label, color, extra = {}) => ({ label, stroke: color, width: 1.5, spanGaps: true, points: { show: false }, ...extra });
  const dots = (label, color) => ({ label, stroke: color, width: 2, spanGaps: true, points: { show: true, size: 7, fill: color } });

  function renderCharts() {
    const st = state.steps, ep = state.epochs;
    chart("c-loss", [line("train (steps)", "#98c5e9"), dots("train (epoch)", palette[0]), dots("validation", palette[1])],
      joinSeries([
        { points: st.map((p) => [p.step, p.loss]) },
        { points: ep.map((e) => [e.step, e.train_loss]) },
        { points: ep.filter((e) => e.has_val).map((e) => [e.step, e.val_loss]) },
      ]));
    // A language model's loss is in nats per token: its perplexity e^loss
    // (the number of equally likely next tokens it is as unsure as) is
    // the figure people compare, drawn on a log scale as the loss falls.
    const lm = !!(state.run && state.run.languageModel);
    $("sec-ppl").style.display = lm ? "" : "none";
    if (lm) {
      chart("c-ppl", [line("train (steps)", "#98c5e9"), dots("train (epoch)", palette[0]), dots("validation", palette[1])],
        joinSeries([
          { points: st.map((p) => [p.step, perplexity(p.loss)]) },
          { points: ep.map((e) => [e.step, perplexity(e.train_loss)]) },
          { points: ep.filter((e) => e.has_val).map((e) => [e.step, perplexity(e.val_loss)]) },
        ]), { log: true });
    }
    const classification = state.run && (state.run.numClasses > 0 || (state.run.classes && state.run.classes.length > 0));
    $("sec-acc").style.display = classification ? "" : "none";
    if (classification) {
      chart("c-acc", [line("train (steps)", "#98c5e9"), dots("train (epoch)", palette[0]), dots("validation", palette[1])],
        joinSeries([
          { points: st.filter((p) => p.accuracy != null).map((p) => [p.step, p.accuracy]) },
          { points: ep.map((e) => [e.step, e.train_accuracy]) },
          { points: ep.filter((e) => e.has_val).map((e) => [e.step, e.val_accuracy]) },
        ]));
    }
    chart("c-lr", [line("learning rate", palette[3])], joinSeries([{ points: st.map((p) => [p.step, p.lr]) }]));
    chart("c-sps", [line("steps", "#98c5e9"), dots("epoch", palette[2])],
      joinSeries([{ points: st.map((p) => [p.step, p.samplesPerSecond]) }, { points: ep.map((e) => [e.step, e.samples_per_second]) }]));
    const groups = (state.run && state.run.groups) || [];
    if (groups.length) {
      const flagged = new Set(state.alerts.map((a) => a.layer));
      const types = new Map((state.run.layers || []).map((l) => [l.name, l.type]));
      const name = (g) => g + (types.has(g) ? " · " + types.get(g) : "");
      const label = (g) => (flagged.has(g) ? "⚠ " : "") + name(g);
      const positive = (v) => (v > 0 ? v : null); // log scale
      chart("c-grad", groups.map((g, i) => line(label(g), palette[i % palette.length])),
        joinSeries(groups.map((g, i) => ({ points: state.norms.map((n) => [n.step, positive(n.grad[i])]) }))), { log: true });
      chart("c-weight", groups.map((g, i) => line(name(g), palette[i % palette.length])),
        joinSeries(groups.map((g, i) => ({ points: state.norms.map((n) => [n.step, n.weight[i]]) }))));
    }
  }

  // ---- header and alerts ----
  function renderHeader() {
    const st = state.steps[state.steps.length - 1], ep = state.epochs[state.epochs.length - 1];
    $("s-epoch").textContent = st ? st.epoch : ep ? ep.epoch : "–";
    $("s-step").textContent = st ? st.step : ep ? ep.step : "–";
    $("s-loss").textContent = st ? fmt(st.loss) : ep ? fmt(ep.train_loss) : "–";
    const lm = !!(state.run && state.run.languageModel);
    $("stat-ppl").style.display = lm ? "" : "none";
    if (lm) $("s-ppl").textContent = fmt(perplexity(st ? st.loss : ep ? ep.train_loss : null));
    $("s-valacc").textContent = ep && ep.has_val && isFinite(ep.val_accuracy) ? (100 * ep.val_accuracy).toFixed(2) + "%" : "–"; // none for a language model
    $("s-lr").textContent = st ? fmt(st.lr, 3) : ep ? fmt(ep.lr, 3) : "–";
    $("s-sps").textContent = st ? Math.round(st.samplesPerSecond) : ep ? Math.round(ep.samples_per_second) : "–";
    if (state.run) $("s-arch").textContent = (state.run.arch || "") + (state.run.parameters ? " · " + state.run.parameters.toLocaleString() + " parameters" : "");
    const al = $("alerts");
    al.replaceChildren(...state.alerts.map((a) => {
      const d = document.createElement("div");
      d.className = "alert " + a.kind;
      d.textContent = (a.kind === "exploding" ? "Exploding gradient" : "Vanishing gradient") + " at step " + a.step + ": " + a.message;
      return d;
    }));
  }

  // ---- architecture diagram ----
  function kind(type) {
    const t = type.toLowerCase();
    if (t === "linear" || t === "conv2d") return t;
    if (/relu|tanh|sigmoid|gelu|silu|elu|softplus|softmax/.test(t)) return "act";
    if (/pool/.test(t)) return "pool";
    if (/norm/.test(t)) return "norm";
    return t;
  }
  let archDrawn = null;
  function renderArch() {
    const run = state.run;
    if (!run || archDrawn === run) return;
    archDrawn = run;
    const el = $("arch");
    const boxes = [];
    const box = (title, lines, cls) => {
      const b = document.createElement("div");
      b.className = "box " + (cls || "");
      const t = document.createElement("b");
      t.textContent = title;
      b.append(t);
      for (const l of lines) { const s = document.createElement("div"); s.textContent = l; b.append(s); }
      return b;
    };
    const shape = (s) => (s ? "[" + ["N", ...s].join(", ") + "]" : "shape ?");
    boxes.push(box("input", [shape(run.shape)]));
    for (const l of run.layers || []) {
      const arrow = document.createElement("span");
      arrow.className = "arrow";
      arrow.textContent = "→";
      boxes.push(arrow);
      boxes.push(box(l.name + " · " + l.type, [l.spec || "", "out " + shape(l.output), l.params ? l.params.toLocaleString() + " params" : "no params"].filter(Boolean), "k-" + kind(l.type)));
    }
    el.replaceChildren(...boxes);
    $("arch-note").textContent = run.parameters ? run.parameters.toLocaleString() + " parameters in all." : "";
  }

  // ---- histograms ----
  function drawBars(ctx, x0, w, h, bins, color) {
    const counts = (bins && bins.counts) || [];
    const peak = Math.max(1, ...counts);
    const bw = w / Math.max(counts.length, 1);
    ctx.fillStyle = color;
    counts.forEach((c, i) => {
      const bh = (h - 14) * (c / peak);
      ctx.fillRect(x0 + i * bw, h - 14 - bh, Math.max(bw - 1, 1), bh);
    });
    ctx.fillStyle = "#667085";
    ctx.font = "10px system-ui";
    if (counts.length) {
      ctx.fillText(fmt(bins.min, 2), x0, h - 2);
      const t = fmt(bins.max, 2);
      ctx.fillText(t, x0 + w - ctx.measureText(t).width, h - 2);
    }
  }
  let histDrawn = null;
  function renderHists() {
    if (histDrawn === state.histograms) return;
    histDrawn = state.histograms;
    const el = $("hists");
    const figs = state.histograms.map((h) => {
      const f = document.createElement("figure");
      const c = document.createElement("canvas");
      const dpr = window.devicePixelRatio || 1;
      c.width = 210 * dpr; c.height = 70 * dpr;
      c.style.width = "210px"; c.style.height = "70px";
      const ctx = c.getContext("2d");
      ctx.scale(dpr, dpr);
      drawBars(ctx, 0, 100, 70, h.weight, "#0877bd");
      drawBars(ctx, 110, 100, 70, h.grad, "#f59322");
      const cap = document.createElement("figcaption");
      const l = ((state.run && state.run.layers) || []).find((l) => l.name === h.layer);
      cap.textContent = "layer " + h.layer + (l ? " · " + l.type + " (" + l.params.toLocaleString() + " parameters)" : "");
      f.append(c, cap);
      return f;
    });
    el.replaceChildren(...figs);
    const s = state.histograms[0];
    $("hist-step").textContent = s ? "(at step " + s.step + ")" : "";
  }

  // ---- confusion matrix and images ----
  let evalDrawn = [];
  function renderEval() {
    const now = [state.confusion, state.images, state.evalNote, state.run];
    if (now.every((v, i) => v === evalDrawn[i])) return;
    evalDrawn = now;
    const classes = (state.run && state.run.classes) || [];
    // Names come from the run, or for a run of very many classes from the
    // names the server sent for the classes in use.
    const name = (k) => classes[k] ?? state.classNames[k] ?? k;
    const cm = state.confusion;
    const box = $("confusion");
    if (cm && cm.length) {
      // Row and column i stand for class idx[i]: every class in order, or
      // those of a partial matrix, with an "other" column.
      const idx = state.confusionClasses || cm.map((_, i) => i);
      const other = state.confusionOther;
      const t = document.createElement("table");
      t.className = "confusion";
      const head = t.insertRow();
      head.append(document.createElement("th"));
      const cols = idx.map(name).concat(other ? ["other"] : []);
      cols.forEach((c) => { const th = document.createElement("th"); th.textContent = c; head.append(th); });
      cm.forEach((row, i) => {
        const tr = t.insertRow();
        const th = document.createElement("th");
        th.textContent = name(idx[i]);
        tr.append(th);
        const cells = other ? row.concat([other[i] || 0]) : row;
        const total = cells.reduce((a, b) => a + b, 0) || 1;
        cells.forEach((v, j) => {
          const td = tr.insertCell();
          td.textContent = v;
          const a = v / total;
          td.style.background = i === j ? `rgba(18,183,106,${a})` : `rgba(217,45,32,${Math.min(1, a * 2)})`;
          if (a > 0.6) td.style.color = "#fff";
        });
      });
      const parts = [t];
      if (state.confused.length) {
        const list = document.createElement("table");
        list.className = "confused";
        const h = list.insertRow();
        for (const c of ["true class", "predicted", "samples"]) { const th = document.createElement("th"); th.textContent = c; h.append(th); }
        for (const p of state.confused) {
          const tr = list.insertRow();
          for (const v of [name(p.true), name(p.pred), p.count]) tr.insertCell().textContent = v;
        }
        const cap = document.createElement("p");
        cap.className = "note";
        cap.textContent = "Most frequent mistakes";
        parts.push(cap, list);
      }
      box.replaceChildren(...parts);
    } else {
      box.replaceChildren();
    }
    $("eval-note").textContent = state.evalNote || "";
    $("images").replaceChildren(...state.images.map((im) => {
      const f = document.createElement("figure");
      if (im.pred !== im.true) f.className = "wrong";
      const img = document.createElement("img");
      img.src = im.image;
      img.alt = "sample " + im.index;
      const cap = document.createElement("figcaption");
      const b = document.createElement("b");
      b.textContent = name(im.pred);
      cap.append(b, " " + Math.round(100 * im.confidence) + "% / " + name(im.true));
      f.append(img, cap);
      return f;
    }));
  }

  function render() {
    renderHeader();
    renderCharts();
    renderArch();
    renderHists();
    renderEval();
    const ds = document.body.dataset;
    ds.steps = state.steps.length;
    ds.epochs = state.epochs.length;
    ds.norms = state.norms.length;
    ds.version = state.messages;
  }

  window.addEventListener("resize", schedule);
  connect();
})();

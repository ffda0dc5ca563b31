// The results page of one saved session: figures, per-voice tables, downloads, card, report.

import { api, el, fmt, say } from "./api.js";

const STAT_FIELDS = [
  ["accuracy_pct", " %", false], ["matched", "", false], ["missed", "", false], ["extra", "", false],
  ["mean_offset_ms", " ms", true], ["sd_offset_ms", " ms", false], ["median_abs_offset_ms", " ms", false],
  ["drift_ms_per_bar", " ms", true],
];

function statCells(tr, stats) {
  for (const [field, unit, signed] of STAT_FIELDS) {
    const digits = field.endsWith("_ms") || field.endsWith("_bar") ? 1 : 0;
    tr.append(el("td", fmt(stats[field], unit, signed, digits),
      { "data-field": field, "data-value": stats[field] === null ? "" : String(stats[field]) }));
  }
}

async function main() {
  const id = new URLSearchParams(location.search).get("id");
  if (!id || !/^\d+$/.test(id)) throw new Error("no session id in the address (?id=N)");
  const s = await api(`/api/history/${id}`);
  document.title = `drumjam · ${s.song_title}`;
  document.querySelector("#song-title").textContent = s.song_title;
  const speed = s.practice.speed !== 1 ? ` · speed ${Math.round(s.practice.speed * 100)} %` : "";
  const loop = s.practice.loop_bars ? ` · bars ${s.practice.loop_bars[0] + 1}-${s.practice.loop_bars[1] + 1}`
    + ` ×${s.practice.repeats}` : "";
  document.querySelector("#when").textContent = `${new Date(s.created_at).toLocaleString()}${speed}${loop}`;
  document.querySelector("#summary").textContent = s.results.summary;
  const body = document.querySelector("#players-table tbody");
  const voices = document.querySelector("#voices");
  s.results.players.forEach((p, i) => {
    const tr = el("tr", "", { "data-player": String(i) });
    tr.append(el("td", p.name, { class: "player-name" }));
    statCells(tr, p.score);
    tr.append(el("td", fmt(p.latency_ms, " ms")));
    body.append(tr);
    voices.append(el("h3", p.name));
    const table = el("table", "", { class: "voice-table", "data-player": String(i) });
    const head = el("tr");
    for (const h of ["voice", "accuracy", "matched", "missed", "extra", "mean offset", "spread (SD)",
      "median |offset|", "drift / bar"]) head.append(el("th", h));
    table.append(head);
    for (const [voice, stats] of Object.entries(p.score.voices)) {
      const row = el("tr", "", { "data-voice": voice });
      row.append(el("td", voice.replace("_", " ")));
      statCells(row, stats);
      table.append(row);
    }
    voices.append(table);
  });
  const duet = s.results.duet;
  if (duet) {
    const sync = duet.sync;
    document.querySelector("#duet").hidden = false;
    const [a, b] = s.results.players.map((p) => p.name);
    const fig = document.querySelector("#duet-figures");
    fig.textContent = `${a} − ${b}: ${fmt(sync.mean_async_ms, " ms", true, 1)} on average `
      + `(SD ${fmt(sync.sd_async_ms, " ms", false, 1)}), ${fmt(100 * sync.within_20ms, " %")} of `
      + `${sync.pairs} shared notes within 20 ms; leader: ${sync.leader === "A" ? a : sync.leader === "B" ? b : "neither"}.`;
    fig.dataset.meanAsyncMs = String(sync.mean_async_ms);
  }
  const downloads = document.querySelector("#downloads");
  const links = [[`/api/history/${id}/results.json`, "Results (JSON)"],
    [`/api/history/${id}/report.html?download=true`, "Report (HTML)"],
    [`/api/history/${id}/card.png?download=true`, "Keepsake card (PNG)"]];
  s.results.players.forEach((p, i) => {
    links.push([`/api/history/${id}/take/${i}.mid`, `${p.name}'s take (MIDI)`]);
  });
  for (const [href, label] of links) {
    const li = el("li");
    li.append(el("a", label, { href, download: "" }));
    downloads.append(li);
  }
  document.querySelector("#card").src = `/api/history/${id}/card.png`;
  document.querySelector("#report").src = `/api/history/${id}/report.html`;
  document.querySelector("#result").hidden = false;
  document.body.dataset.ready = "1";
}

main().catch((err) => say(`Could not show these results: ${err.message}`));

// The history page: every saved session, newest first.

import { api, el, say } from "./api.js";

async function main() {
  const rows = await api("/api/history?limit=200");
  const body = document.querySelector("#history tbody");
  document.querySelector("#empty").hidden = rows.length > 0;
  for (const s of rows) {
    const tr = el("tr", "", { "data-session-id": String(s.id) });
    tr.append(el("td", new Date(s.created_at).toLocaleString()));
    tr.append(el("td", s.song_title));
    tr.append(el("td", s.players.map((p) => p.name).join(" & "), { class: "players" }));
    tr.append(el("td", s.summary, { class: "summary-cell" }));
    const link = el("a", "results", { href: `/results.html?id=${s.id}` });
    const td = el("td");
    td.append(link);
    tr.append(td);
    body.append(tr);
  }
}

main().catch((err) => say(`Could not load the history: ${err.message}`));

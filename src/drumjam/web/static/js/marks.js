// Words for live marks and the running line, the same on every page. No DOM here.

import { fmt } from "./api.js";

/** "hihat closed" for "hihat_closed". */
export function voiceLabel(voice) {
  return String(voice).replaceAll("_", " ");
}

/** "snare +12 ms late · great", "kick −8 ms early · perfect" or "crash · extra". */
export function markText({ voice, offset_ms: offsetMs, judgment }) {
  if (offsetMs === null || offsetMs === undefined) return `${voiceLabel(voice)} · extra`;
  const side = offsetMs > 0 ? "late" : offsetMs < 0 ? "early" : "on time";
  return `${voiceLabel(voice)} ${fmt(offsetMs, " ms", true)} ${side} · ${judgment}`;
}

/**
 * The running line: the results page's accuracy (judgment-weighted share of the notes so far
 * and the extra hits), hits played and their mean |offset|.
 */
export function runningText(running) {
  if (!running) return "";
  return `accuracy ${fmt(running.accuracy_pct, " %")} · ${running.hits} hits · `
    + `mean |offset| ${fmt(running.mean_abs_offset_ms, " ms")}`;
}

// The scrolling play view: one lane per drum group, notes flowing towards the "now" line,
// each played hit drawn where it landed and coloured by its judgment.

export const LANE_ORDER = ["crash", "ride", "hihat", "hihat_pedal", "tom_high", "tom_mid", "tom_floor", "snare", "kick",
  "percussion"];
export const JUDGMENT_COLOURS = { perfect: "#3ddc97", great: "#9bd34a", good: "#f6ae2d",
  extra: "#e4572e", miss: "#888", shown: "#b9b3ff" };

export class LaneView {
  /**
   * canvas: the element to draw on; notes: [{time_s, voice}]; beatmap: {beats, downbeats};
   * groupOf: voice -> group.
   */
  constructor(canvas, { notes, beatmap, groupOf, pxPerSecond = 240 }) {
    this.canvas = canvas;
    this.groupOf = groupOf;
    this.notes = notes.map((n) => ({ ...n, group: groupOf[n.voice], hit: null }));
    const used = new Set(this.notes.map((n) => n.group));
    this.lanes = notes.length ? LANE_ORDER.filter((g) => used.has(g)) : ["hihat", "snare", "kick"];
    this.beats = beatmap.beats;
    this.downbeats = new Set(beatmap.downbeats.map((t) => t.toFixed(6)));
    this.pxPerSecond = pxPerSecond;
    this.marks = [];
  }

  laneOf(voice) {
    const i = this.lanes.indexOf(this.groupOf[voice]);
    return i >= 0 ? i : this.lanes.length - 1;
  }

  /** A played hit; the note it met (by the note's id, else its group and time) takes its colour. */
  addMark(result) {
    this.marks.push(result);
    if (result.target_id !== undefined && result.target_id !== null) {
      const note = this.notes.find((n) => n.id === result.target_id);
      if (note) note.hit = result.judgment;
    } else if (result.target_time_s !== null && result.target_time_s !== undefined) {
      const group = this.groupOf[result.voice];
      const note = this.notes.find((n) => n.group === group && Math.abs(n.time_s - result.target_time_s) < 1e-4);
      if (note) note.hit = result.judgment;
    }
  }

  draw(now) {
    const c = this.canvas;
    const ratio = window.devicePixelRatio || 1;
    const w = c.clientWidth;
    const h = c.clientHeight;
    if (c.width !== Math.round(w * ratio) || c.height !== Math.round(h * ratio)) {
      c.width = Math.round(w * ratio);
      c.height = Math.round(h * ratio);
    }
    const g = c.getContext("2d");
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, w, h);
    const labelW = 78;
    const nowX = labelW + (w - labelW) * 0.2;
    const laneH = h / this.lanes.length;
    const x = (t) => nowX + (t - now) * this.pxPerSecond;
    const visible = (t) => x(t) > labelW - 20 && x(t) < w + 20;
    g.font = "12px system-ui, sans-serif";
    this.lanes.forEach((lane, i) => {
      g.fillStyle = i % 2 ? "#1b1e26" : "#20242e";
      g.fillRect(0, i * laneH, w, laneH);
      g.fillStyle = "#aab";
      g.fillText(lane.replace("_", " "), 6, i * laneH + laneH / 2 + 4);
    });
    for (const t of this.beats) {
      if (!visible(t)) continue;
      g.strokeStyle = this.downbeats.has(t.toFixed(6)) ? "#6a7082" : "#3a3f4c";
      g.beginPath();
      g.moveTo(x(t), 0);
      g.lineTo(x(t), h);
      g.stroke();
    }
    for (const n of this.notes) {
      if (!visible(n.time_s)) continue;
      const lane = this.lanes.indexOf(n.group);
      g.fillStyle = n.hit ? JUDGMENT_COLOURS[n.hit] : (n.time_s < now - 0.1 ? "#555" : "#d8dbe6");
      g.beginPath();
      g.arc(x(n.time_s), lane * laneH + laneH / 2, Math.min(9, laneH * 0.32), 0, 2 * Math.PI);
      g.fill();
    }
    for (const m of this.marks) {
      if (!visible(m.time_s)) continue;
      const lane = this.laneOf(m.voice);
      const mx = x(m.time_s);
      g.strokeStyle = JUDGMENT_COLOURS[m.judgment] || "#fff";
      g.lineWidth = 3;
      g.beginPath();
      g.moveTo(mx, lane * laneH + 3);
      g.lineTo(mx, lane * laneH + laneH - 3);
      g.stroke();
      g.lineWidth = 1;
      if (m.offset_ms !== null) {
        g.fillStyle = "#fff";
        const label = `${m.offset_ms > 0 ? "+" : ""}${Math.round(m.offset_ms)}`;
        g.fillText(label, mx + 4, lane * laneH + 12);
      }
    }
    g.strokeStyle = "#f6ae2d";
    g.lineWidth = 2;
    g.beginPath();
    g.moveTo(nowX, 0);
    g.lineTo(nowX, h);
    g.stroke();
    g.lineWidth = 1;
  }
}

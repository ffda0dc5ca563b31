// Two acoustic kits in one room on the play page. Each microphone hears both kits, so the two
// microphone players are started as one room pair (`room_pair` on `mic_start`) and the server
// attributes every hit to the kit it came from. Two ways to set it up:
//   "same": a microphone per player (each chosen in the player's block), both on this page;
//   "interface": one audio interface with a channel per kit, its channel 1 streamed as player
//   1's microphone and channel 2 as player 2's;
//   "joined": "same", with player 2 on their own device, joined by the link this page shows
//   (joinlink.js): this page streams player 1's microphone only, the joined page player 2's.
// The room check (each player plays alone while both microphones record) learns how each kit
// sounds in the other microphone; the server stores it with the player's kit profile. The pure
// parts (mode, messages) are tested under node.

import { api, fmt } from "./api.js";
import { Microphone, encodeFrame, roomCheckBody } from "./mic.js";

/** Seconds each player plays alone for the room check. */
export const ROOM_CHECK_S = 8;

/** How the two microphones stand: "" (not in one room), "same", "interface" or "joined"
 * (same room, player 2's device joined). */
export function roomMode({ players, mics, sameRoom, channelPerKit, joined = false }) {
  if (players < 2 || !mics.every(Boolean)) return "";
  if (channelPerKit) return "interface";
  if (!sameRoom) return "";
  return joined ? "joined" : "same";
}

/** What a stored room check says, or that it is missing. */
export function roomSummary(name, room) {
  if (!room) return `${name}: no room check yet.`;
  return `${name}: the other microphone hears this kit ${fmt(room.delay_ms, " ms", false, 1)} later and `
    + `${fmt(-room.gain_db, " dB", false, 0)} quieter (${room.hits} hits).`;
}

/** The message when a kit lacks the room check (null: both have it). */
export function missingRoomCheck(names, rooms) {
  const missing = names.filter((_, i) => !rooms[i]);
  if (!missing.length) return null;
  return `The two kits in this room need the room check (${missing.join(" and ")}): press Room check `
    + "and play your drums alone while the other stays silent; otherwise every hit would count for both players.";
}

/** The room check stored for each player's kit and microphone ([room or null, room or null]). */
export async function storedRooms(names, devices) {
  return Promise.all(names.map(async (name, i) => {
    const q = new URLSearchParams({ name, device: devices[i] });
    return (await api(`/api/kitcheck?${q}`)).room || null;
  }));
}

/**
 * Open the microphones of a room pair: one interface with two channels, or one per player.
 * @returns {Promise<Array<{player: number, players: number[], mic: Microphone}>>}
 */
export async function openPairMics(ctx, { mode, deviceIds, handlers }) {
  const opened = [];
  const groups = { interface: [[0, 1]], joined: [[0]] }[mode] || [[0], [1]];
  try {
    for (const players of groups) {
      const mic = new Microphone(ctx, handlers(players));
      opened.push({ player: players[0], players, mic });
      await mic.open(players[0], { deviceId: deviceIds[players[0]], players });
    }
  } catch (err) {
    for (const { mic } of opened) mic.close();
    throw err;
  }
  return opened;
}

/** Record both microphones of a pair for `seconds`: [player 1's, player 2's] recordings. */
async function recordBoth(mics, seconds) {
  if (mics.length === 1) {
    const { firstFrame, channels } = await mics[0].mic.record(seconds);
    return channels.map((samples) => ({ firstFrame, samples }));
  }
  const recordings = await Promise.all(mics.map(({ mic }) => mic.record(seconds)));
  return mics[0].player === 0 ? recordings : recordings.reverse();
}

/**
 * The room check of `player`'s kit: they play alone while both microphones record; the server
 * learns how their kit sounds in the other microphone and stores it.
 * @returns {Promise<object>} the server's RoomCheckOut
 */
export async function roomCheck(ctx, mics, { player, names, devices }) {
  const recordings = await recordBoth(mics, ROOM_CHECK_S);
  const q = new URLSearchParams({ sample_rate: ctx.sampleRate, name: names[player],
    device: devices[player], partner_device: devices[1 - player] });
  return api(`/api/kitcheck/room?${q}`, { method: "POST",
    body: roomCheckBody(recordings[player], recordings[1 - player]) });
}

/**
 * One device's part of a room check over the join link: record `player`'s microphone (this
 * device's) for `seconds` and send it as one frame; the server puts the two devices' recordings
 * on one clock and learns the kit. Returns the microphone's label.
 */
export async function recordForLink(ctx, link, { player, deviceId, seconds, onEnded }) {
  const mic = new Microphone(ctx, { onFrame: () => {}, onEnded });
  try {
    await mic.open(player, { deviceId });
    const { firstFrame, samples } = await mic.record(seconds);
    link.sendBinary(encodeFrame(samples, { player, seq: 0, firstFrame }));
    return mic.device;
  } finally {
    mic.close();
  }
}

// Waiting out a busy server: a request answered 503 (Service Unavailable, e.g. every
// time-stretch slot taken) is tried again after the seconds its Retry-After header asks for,
// a bounded number of times and for a bounded total wait. No DOM here.

import { errorMessage } from "./api.js";

/** Requests made in all (the first one included) before giving up. */
export const BUSY_TRIES = 6;
/** Seconds waited in all, across the tries, before giving up. */
export const BUSY_WAIT_CAP_S = 60;
/** Seconds waited after a 503 whose Retry-After is missing or unreadable. */
export const BUSY_DEFAULT_WAIT_S = 5;
/** Seconds waited at least between two tries, whatever Retry-After says. */
const BUSY_MIN_WAIT_S = 1;

/** The server was still busy after the tries allowed: `tries` made, `waitedS` waited. */
export class BusyError extends Error {
  constructor(detail, { tries, waitedS }) {
    super(`the server is still busy after ${tries} tries over ${waitedS} s: ${detail}`);
    this.name = "BusyError";
    this.detail = detail;
    this.tries = tries;
    this.waitedS = waitedS;
  }
}

/**
 * Seconds a Retry-After header asks to wait: delay-seconds or an HTTP date (RFC 9110 10.2.3).
 * @param {string|null} value the header's value
 * @param {number} nowMs the time now (ms since the epoch), for a date
 * @returns {number|null} null when the header is missing or is neither form
 */
export function retryAfterS(value, nowMs = Date.now()) {
  if (value === null || value === undefined) return null;
  const text = String(value).trim();
  if (/^\d+$/.test(text)) return Number(text);
  const at = /^[A-Za-z]{3}/.test(text) ? Date.parse(text) : NaN; // every HTTP date form opens with the day
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - nowMs) / 1000));
}

const sleepS = (s) => new Promise((resolve) => { setTimeout(resolve, s * 1000); });

/**
 * GET `url`, trying again while the server answers 503, after the wait it asks for.
 * Any other answer (a success or another error) is returned as it is.
 * @param {string} url
 * @param {object} [opts]
 * @param {(info: {attempt: number, tries: number, waitS: number, waitedS: number}) => void} [opts.onWait]
 *   called before each wait: `attempt` is the try just refused (1 = the first)
 * @param {number} [opts.tries] requests in all (see BUSY_TRIES)
 * @param {number} [opts.maxWaitS] seconds waited in all (see BUSY_WAIT_CAP_S): a wait that
 *   would pass it is not begun
 * @param {typeof fetch} [opts.fetchFn] for tests
 * @param {(seconds: number) => Promise<void>} [opts.sleep] for tests
 * @param {() => number} [opts.now] ms since the epoch, for a Retry-After date; for tests
 * @returns {Promise<Response>}
 * @throws {BusyError} when the server is still busy once the tries or the wait are used up
 */
export async function fetchWaitingOutBusy(url, {
  onWait = () => {}, tries = BUSY_TRIES, maxWaitS = BUSY_WAIT_CAP_S,
  fetchFn = (...args) => fetch(...args), sleep = sleepS, now = Date.now,
} = {}) {
  let waitedS = 0;
  for (let attempt = 1; ; attempt++) {
    const response = await fetchFn(url);
    if (response.status !== 503) return response;
    const asked = retryAfterS(response.headers.get("Retry-After"), now());
    const waitS = Math.max(BUSY_MIN_WAIT_S, asked === null ? BUSY_DEFAULT_WAIT_S : asked);
    if (attempt >= tries || waitedS + waitS > maxWaitS) {
      throw new BusyError(await errorMessage(response), { tries: attempt, waitedS });
    }
    if (response.body) response.body.cancel().catch(() => {}); // not read: free the connection
    onWait({ attempt, tries, waitS, waitedS });
    await sleep(waitS);
    waitedS += waitS;
  }
}

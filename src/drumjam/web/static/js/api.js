// Talking to the drumjam server: JSON requests with readable errors.

/** A person-readable message from a failed response (FastAPI's `detail`, string or list). */
export async function errorMessage(response) {
  let detail = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    if (typeof body.detail === "string") detail = body.detail;
    else if (Array.isArray(body.detail)) {
      detail = body.detail.map((d) => `${(d.loc || []).slice(1).join(".")}: ${d.msg}`).join("; ");
    }
  } catch (_) { /* not JSON: keep the status line */ }
  return detail;
}

/** GET or POST JSON; throws Error(message) on a non-2xx answer. */
export async function api(path, { method = "GET", json, body } = {}) {
  const init = { method, headers: {} };
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  } else if (body !== undefined) {
    init.body = body;
  }
  const response = await fetch(path, init);
  if (!response.ok) throw new Error(await errorMessage(response));
  return response.status === 204 ? null : response.json();
}

/** Make an element with text content only (never HTML) and optional attributes. */
export function el(tag, text = "", attrs = {}) {
  const node = document.createElement(tag);
  if (text !== "" && text !== null && text !== undefined) node.textContent = String(text);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

/** A number with sign and unit, or an en dash for missing values. */
export function fmt(value, unit = "", signed = false, digits = 0) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  let s = Number(value).toFixed(digits);
  if (Number(s) === 0) s = (0).toFixed(digits); // -0.04 reads 0, not -0
  return (signed && Number(s) > 0 ? "+" : "") + s + unit;
}

/** Show `text` in the page's #message box, as an error or (`info`) as news; "" hides it. */
export function say(text, info = false) {
  const box = document.getElementById("message");
  box.textContent = text;
  box.className = info ? "message info" : "message";
  box.hidden = !text;
}

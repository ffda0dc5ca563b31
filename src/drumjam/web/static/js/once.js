// One run at a time: a second click on Start while the first is still starting joins it.
// No DOM here.

/**
 * Wrap an async function so that calls made while one is in flight get that call's promise
 * instead of starting another.
 * @template T
 * @param {(...args: any[]) => Promise<T>} fn
 * @returns {((...args: any[]) => Promise<T>) & {busy: boolean}}
 */
export function singleFlight(fn) {
  let pending = null;
  const wrapped = (...args) => {
    if (pending) return pending;
    pending = (async () => {
      try {
        return await fn(...args);
      } finally {
        pending = null;
      }
    })();
    return pending;
  };
  Object.defineProperty(wrapped, "busy", { get: () => pending !== null });
  return wrapped;
}

// MQTT topic filters (`+` one level, `#` the rest) as the bridge routes a message by them: which
// filter a topic matches, and whether two filters could match the same topic.

/** Whether `topic` matches the MQTT filter `filter`. Walks both strings: no allocation, as it
 * runs for every device message. */
export function topicMatches(filter: string, topic: string): boolean {
  let f = 0;
  let t = 0;
  while (f < filter.length) {
    const c = filter.charCodeAt(f);
    if (c === HASH) return true;
    if (c === PLUS) {
      while (t < topic.length && topic.charCodeAt(t) !== SLASH) t++;
      f++;
      continue;
    }
    if (t >= topic.length || topic.charCodeAt(t) !== c) {
      // `a/#` matches `a` too.
      return t === topic.length && filter.length - f === 2 && c === SLASH &&
        filter.charCodeAt(f + 1) === HASH;
    }
    f++;
    t++;
  }
  return t === topic.length;
}

/** Whether some topic matches both filters. */
export function filtersOverlap(a: string, b: string): boolean {
  const x = a.split("/");
  const y = b.split("/");
  for (let i = 0;; i++) {
    if (x[i] === "#" || y[i] === "#") return true;
    if (i >= x.length || i >= y.length) return x.length === y.length;
    if (x[i] !== "+" && y[i] !== "+" && x[i] !== y[i]) return false;
  }
}

const HASH = "#".charCodeAt(0);
const PLUS = "+".charCodeAt(0);
const SLASH = "/".charCodeAt(0);

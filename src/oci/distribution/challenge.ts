/**
 * WWW-Authenticate challenges (RFC 7235) as registries send them:
 * `Bearer realm="https://auth.example/token",service="registry",scope="repository:x:pull"`
 * or `Basic realm="Registry Realm"`. A header may carry several challenges.
 */

/** One challenge: the scheme in lower case and its parameters (names in lower case). */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

const TOKEN = /[!#$%&'*+\-.^_`|~0-9A-Za-z]+/y;

/** Parses every challenge in the given header values; malformed tails are dropped, never thrown. */
export function parseChallenges(headers: string | string[] | undefined): Challenge[] {
  if (headers === undefined) return [];
  const out: Challenge[] = [];
  for (const h of Array.isArray(headers) ? headers : [headers]) out.push(...parseOne(h));
  return out;
}

function parseOne(header: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  let current: Challenge | undefined;
  const skipWs = () => {
    while (i < header.length && (header[i] === ' ' || header[i] === '\t')) i++;
  };
  const token = (): string | undefined => {
    TOKEN.lastIndex = i;
    const m = TOKEN.exec(header);
    if (!m) return undefined;
    i += m[0].length;
    return m[0];
  };
  while (i < header.length) {
    skipWs();
    if (header[i] === ',') {
      i++;
      continue;
    }
    const start = i;
    const word = token();
    if (word === undefined) break;
    skipWs();
    if (header[i] === '=' && current !== undefined) {
      // A parameter of the current challenge (token68 values are not used by registries).
      i++;
      skipWs();
      let value: string | undefined;
      if (header[i] === '"') {
        value = '';
        i++;
        while (i < header.length && header[i] !== '"') {
          if (header[i] === '\\' && i + 1 < header.length) i++;
          value += header[i];
          i++;
        }
        if (header[i] !== '"') break;
        i++;
      } else {
        // Lenient: an unquoted value runs to the next comma or blank (registries send URLs unquoted).
        const from = i;
        while (i < header.length && header[i] !== ',' && header[i] !== ' ' && header[i] !== '\t') i++;
        value = header.slice(from, i);
      }
      current.params[word.toLowerCase()] = value;
      continue;
    }
    if (header[i] === '=' && current === undefined) {
      i = start;
      break;
    }
    current = { scheme: word.toLowerCase(), params: {} };
    out.push(current);
  }
  return out;
}

/** The first challenge of a scheme (`bearer`, `basic`), if any. */
export function findChallenge(challenges: Challenge[], scheme: 'bearer' | 'basic'): Challenge | undefined {
  return challenges.find((c) => c.scheme === scheme);
}

/**
 * Protocol 0 opcodes carry text arguments terminated by a newline: decimal ints, Python string reprs,
 * raw-unicode-escape text. These decoders follow CPython's Unpickler and return undefined where CPython
 * would raise, so the walker can report a parse error.
 */

/** INT, LONG, GET, PUT: a decimal integer ("I01" / "I00" are True / False for INT). */
export function parseDecimal(text: string): number | bigint | undefined {
  const s = text.trim().replace(/L$/, '').replace(/_/g, '');
  if (!/^[+-]?\d+$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : BigInt(s);
}

/** STRING: a quoted Python 2 str repr ('abc' or "abc"), with backslash escapes (codecs.escape_decode). */
export function parseQuotedString(text: string): string | undefined {
  const s = text.replace(/\r$/, '');
  if (s.length < 2 || (s[0] !== "'" && s[0] !== '"') || s[s.length - 1] !== s[0]) return undefined;
  return unescape(s.slice(1, -1), false);
}

/** UNICODE: raw-unicode-escape (only \uXXXX and \UXXXXXXXX are escapes; other bytes are Latin-1). */
export function parseRawUnicode(text: string): string {
  return text.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_m, u4: string | undefined, u8: string | undefined) => {
    const cp = parseInt(u4 ?? u8 ?? '0', 16);
    return cp <= 0x10ffff ? String.fromCodePoint(cp) : '\ufffd';
  });
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', v: '\v', '\n': '' };

function unescape(body: string, unicode: boolean): string {
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c !== '\\' || i + 1 >= body.length) {
      out += c;
      continue;
    }
    const e = body[++i];
    if (e in SIMPLE_ESCAPES) out += SIMPLE_ESCAPES[e];
    else if (e === 'x' && /^[0-9a-fA-F]{2}$/.test(body.slice(i + 1, i + 3))) {
      out += String.fromCharCode(parseInt(body.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (/[0-7]/.test(e)) {
      let oct = e;
      while (oct.length < 3 && /[0-7]/.test(body[i + 1] ?? '')) oct += body[++i];
      out += String.fromCharCode(parseInt(oct, 8) & 0xff);
    } else if (unicode && e === 'u') {
      out += String.fromCharCode(parseInt(body.slice(i + 1, i + 5), 16));
      i += 4;
    } else out += '\\' + e;
  }
  return out;
}

/** FLOAT: a repr float ("1.5", "inf", "nan"). */
export function parseFloatText(text: string): number | undefined {
  const s = text.trim().toLowerCase();
  if (s === 'inf' || s === '+inf') return Infinity;
  if (s === '-inf') return -Infinity;
  if (s === 'nan') return NaN;
  const n = Number(s);
  return s.length > 0 && !Number.isNaN(n) ? n : undefined;
}

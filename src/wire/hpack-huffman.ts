/**
 * HPACK's Huffman code (RFC 7541 Appendix B), decoding only: our encoder
 * sends raw strings, but a peer may Huffman-code any string it sends.
 *
 * The code is canonical (RFC 7541 Appendix B says so; the unit tests check
 * the rebuilt codes against the RFC's and against nghttp2's output), so the
 * 257 code lengths are enough: codes of one length are consecutive numbers
 * in symbol order, each length starting where the shorter ones ended.
 */

/** Code length in bits of each symbol 0..255, then EOS (256), as in RFC 7541 Appendix B. */
const LENGTHS: readonly number[] = [
  // 0-31: control characters
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  // 32-63: ' ' ! " # $ % & ' ( ) * + , - . / 0-9 : ; < = > ?
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
  5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  // 64-95: @ A-Z [ \ ] ^ _
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
  7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  // 96-127: ` a-z { | } ~ DEL
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  // 128-255
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  // EOS
  30,
];

const EOS = 256;
const MAX_LENGTH = 30;

/** The canonical code's decoding tables: per length, the first code, and where its symbols start in SYMBOLS. */
const FIRST_CODE = new Array<number>(MAX_LENGTH + 1).fill(0);
const COUNT = new Array<number>(MAX_LENGTH + 1).fill(0);
const OFFSET = new Array<number>(MAX_LENGTH + 1).fill(0);
/** Symbols sorted by (code length, symbol): a code's rank within its length indexes here. */
const SYMBOLS: number[] = [];

{
  for (const len of LENGTHS) COUNT[len]!++;
  let code = 0;
  for (let len = 1; len <= MAX_LENGTH; len++) {
    FIRST_CODE[len] = code;
    OFFSET[len] = SYMBOLS.length;
    for (let sym = 0; sym < LENGTHS.length; sym++) if (LENGTHS[sym] === len) SYMBOLS.push(sym);
    code = (code + COUNT[len]!) * 2;
  }
}

/** Every symbol's code, rebuilt from the lengths (for the tests, which compare it with the RFC's table). */
export function huffmanCodes(): { code: number; length: number }[] {
  const out: { code: number; length: number }[] = [];
  for (let len = 1; len <= MAX_LENGTH; len++) {
    for (let i = 0; i < COUNT[len]!; i++) out[SYMBOLS[OFFSET[len]! + i]!] = { code: FIRST_CODE[len]! + i, length: len };
  }
  return out;
}

/** Why a Huffman string could not be decoded (the connection must fail with COMPRESSION_ERROR). */
export class HuffmanError extends Error {}

/**
 * Decodes a Huffman-coded string literal. The padding after the last symbol
 * must be fewer than 8 bits, all ones (a prefix of EOS); EOS itself must not
 * appear (RFC 7541 section 5.2).
 */
export function huffmanDecode(input: Uint8Array): Buffer {
  // Each symbol is at least 5 bits: the output is at most 8/5 of the input.
  const out = Buffer.allocUnsafe(Math.ceil((input.length * 8) / 5));
  let n = 0;
  let code = 0;
  let len = 0;
  for (const byte of input) {
    for (let bit = 7; bit >= 0; bit--) {
      code = code * 2 + ((byte >> bit) & 1);
      len++;
      const rank = code - FIRST_CODE[len]!;
      if (rank < COUNT[len]!) {
        const sym = SYMBOLS[OFFSET[len]! + rank]!;
        if (sym === EOS) throw new HuffmanError('Huffman string contains EOS');
        out[n++] = sym;
        code = 0;
        len = 0;
      } else if (len === MAX_LENGTH) {
        throw new HuffmanError('invalid Huffman code');
      }
    }
  }
  // Left over: the padding, which must be the most significant bits of EOS (all ones).
  if (len > 7) throw new HuffmanError('Huffman padding longer than 7 bits');
  if (code !== 2 ** len - 1) throw new HuffmanError('Huffman padding is not all ones');
  return out.subarray(0, n);
}

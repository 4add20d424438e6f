// Go's regexp (RE2 syntax) as a JavaScript RegExp, for the topic and channel patterns of an
// authorization. The two dialects read most patterns alike; where they part, this module either
// rewrites the RE2 form into a JavaScript one that matches the same strings, or refuses the
// pattern with the reason, so that a pattern never silently matches differently than under nsqd:
//
//   rewritten   (?i) (?s) (?m) at the start; (?P<name>…); \A \z; \Q…\E; \a; \x{…};
//               [[:alpha:]] and the other POSIX classes; `.` (RE2: anything but \n; JavaScript
//               also stops at \r, \u2028, \u2029); \s (RE2: [\t\n\f\r ] only); a leading ] in a
//               class ([]a] is "] or a" in RE2, an empty class in JavaScript)
//   refused     what Go's regexp.Compile refuses too, so nsqd would refuse the answer: back
//               references (\1), lookaround ((?=…), (?!…), (?<=…), (?<!…)), unknown letter
//               escapes (\i), repeat counts over 1000; and what RE2 has and this does not
//               translate: flags other than at the start or scoped ((?i:…)), (?U), \p{…}, \C,
//               octal escapes
//
// Matching is unanchored, as Go's MatchString: "orders" matches "old_orders" unless anchored.

export class PatternError extends Error {}

const POSIX: Record<string, string> = {
  alnum: "0-9A-Za-z",
  alpha: "A-Za-z",
  ascii: "\\x00-\\x7F",
  blank: "\\t ",
  cntrl: "\\x00-\\x1F\\x7F",
  digit: "0-9",
  graph: "!-~",
  lower: "a-z",
  print: " -~",
  punct: "!-\\/:-@\\[-`{-~",
  space: "\\t\\n\\v\\f\\r ",
  upper: "A-Z",
  word: "0-9A-Za-z_",
  xdigit: "0-9A-Fa-f",
};
const SPACE = "\\t\\n\\f\\r ";
/** Escapes that mean the same in both dialects. */
const SAME = new Set(["d", "D", "w", "W", "b", "B", "f", "t", "n", "r", "v"]);

const escapeLiteral = (s: string) => s.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&");

/** A Go regexp as the source and flags of a JavaScript RegExp that matches the same strings. */
export function translate(pattern: string): { source: string; flags: string } {
  let i = 0;
  let flags = "";
  // Flags at the very start apply to the whole pattern: the one place both dialects can agree.
  const lead = /^\(\?([a-zA-Z]+)\)/.exec(pattern);
  if (lead) {
    for (const f of lead[1]!) {
      if (f === "U") throw new PatternError("the ungreedy flag (?U) is not supported");
      if (!"ism".includes(f)) throw new PatternError(`invalid or unsupported Perl syntax: (?${lead[1]})`);
      if (!flags.includes(f)) flags += f;
    }
    i = lead[0].length;
  }
  const dotAll = flags.includes("s");
  let out = "";
  while (i < pattern.length) {
    const ch = pattern[i]!;
    if (ch === "\\") {
      const [text, next] = escape(pattern, i, false);
      out += text;
      i = next;
    } else if (ch === "[") {
      const [text, next] = charClass(pattern, i);
      out += text;
      i = next;
    } else if (ch === "(") {
      if (pattern[i + 1] !== "?") {
        out += "(";
        i++;
        continue;
      }
      const rest = pattern.slice(i);
      const named = /^\(\?P?<([A-Za-z0-9_]+)>/.exec(rest);
      if (named) {
        out += `(?<${named[1]}>`;
        i += named[0].length;
      } else if (rest.startsWith("(?:")) {
        out += "(?:";
        i += 3;
      } else if (/^\(\?(=|!|<=|<!)/.test(rest)) {
        throw new PatternError("lookaround ((?=…), (?!…), (?<=…), (?<!…)) is not supported by Go's regexp");
      } else {
        throw new PatternError(`flags are supported only at the start of the pattern: ${rest.slice(0, 8)}…`);
      }
    } else if (ch === ".") {
      out += dotAll ? "[\\s\\S]" : "[^\\n]";
      i++;
    } else if (ch === "{") {
      const rep = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(i));
      if (rep && (Number(rep[1]) > 1000 || (rep[3] && Number(rep[3]) > 1000)))
        throw new PatternError(`invalid repeat count: ${rep[0]}`);
      out += ch;
      i++;
    } else {
      out += ch;
      i++;
    }
  }
  return { source: out, flags };
}

/** One escape at pattern[i] (a backslash): its JavaScript text, and where the pattern goes on. */
function escape(pattern: string, i: number, inClass: boolean): [string, number] {
  const c = pattern[i + 1];
  if (c === undefined) throw new PatternError("trailing backslash at end of expression");
  if ((c === "b" || c === "B") && inClass) throw new PatternError(`invalid escape sequence: \\${c}`);
  if (SAME.has(c)) return [`\\${c}`, i + 2];
  if (c === "s") return [inClass ? SPACE : `[${SPACE}]`, i + 2];
  if (c === "S") {
    if (inClass) throw new PatternError("\\S inside a character class is not supported");
    return [`[^${SPACE}]`, i + 2];
  }
  if (c === "a") return ["\\x07", i + 2];
  if (c === "A" && !inClass) return ["(?<![\\s\\S])", i + 2];
  if (c === "z" && !inClass) return ["(?![\\s\\S])", i + 2];
  if (c === "Q" && !inClass) {
    const end = pattern.indexOf("\\E", i + 2);
    const literal = end < 0 ? pattern.slice(i + 2) : pattern.slice(i + 2, end);
    return [escapeLiteral(literal), end < 0 ? pattern.length : end + 2];
  }
  if (c === "x") {
    const braced = /^\{([0-9A-Fa-f]{1,6})\}/.exec(pattern.slice(i + 2));
    if (braced) {
      const code = parseInt(braced[1]!, 16);
      if (code > 0xffff) throw new PatternError(`\\x{${braced[1]}} beyond U+FFFF is not supported`);
      return [`\\u${code.toString(16).padStart(4, "0")}`, i + 2 + braced[0].length];
    }
    const two = /^[0-9A-Fa-f]{2}/.exec(pattern.slice(i + 2));
    if (!two) throw new PatternError(`invalid escape sequence: \\x${pattern.slice(i + 2, i + 4)}`);
    return [`\\x${two[0]}`, i + 4];
  }
  if (/[0-9]/.test(c)) throw new PatternError(`invalid escape sequence: \\${c} (back references and octal escapes are not supported)`);
  if (c === "p" || c === "P") throw new PatternError("Unicode classes (\\p{…}, \\P{…}) are not supported");
  if (/[A-Za-z]/.test(c)) throw new PatternError(`invalid escape sequence: \\${c}`);
  // Any other punctuation escapes itself in both dialects.
  return [`\\${c}`, i + 2];
}

/** A bracketed class at pattern[i] ("["): its JavaScript text, and where the pattern goes on. */
function charClass(pattern: string, i: number): [string, number] {
  let j = i + 1;
  let out = "[";
  if (pattern[j] === "^") {
    out += "^";
    j++;
  }
  // RE2 takes a ] right after the opening (or after ^) as a literal.
  if (pattern[j] === "]") {
    out += "\\]";
    j++;
  }
  while (j < pattern.length && pattern[j] !== "]") {
    const ch = pattern[j]!;
    if (ch === "[" && pattern[j + 1] === ":") {
      const m = /^\[:(\^?)([a-z]+):\]/.exec(pattern.slice(j));
      if (!m || !(m[2]! in POSIX)) throw new PatternError(`invalid character class range: ${pattern.slice(j, j + 10)}`);
      if (m[1]) throw new PatternError(`negated POSIX classes ([:^${m[2]}:]) are not supported`);
      out += POSIX[m[2]!];
      j += m[0].length;
    } else if (ch === "\\") {
      const [text, next] = escape(pattern, j, true);
      out += text;
      j = next;
    } else if (ch === "[") {
      out += "\\[";
      j++;
    } else {
      out += ch;
      j++;
    }
  }
  if (j >= pattern.length) throw new PatternError(`missing closing ]: ${pattern.slice(i)}`);
  return [out + "]", j + 1];
}

/** A Go regexp compiled for matching here, or a PatternError saying why it cannot be. */
export function compile(pattern: string): RegExp {
  const { source, flags } = translate(pattern);
  try {
    return new RegExp(source, flags);
  } catch (e) {
    throw new PatternError(`invalid pattern: ${e instanceof Error ? e.message : e}`);
  }
}

import { describe, expect, it } from "vitest";
import { compile, PatternError } from "./re2";

const matches = (pattern: string, s: string) => compile(pattern).test(s);
const refusal = (pattern: string) => {
  try {
    compile(pattern);
  } catch (e) {
    if (e instanceof PatternError) return e.message;
    throw e;
  }
  throw new Error(`${pattern} compiled`);
};

describe("Go regexp patterns as JavaScript", () => {
  it("matches unanchored, as Go's MatchString", () => {
    expect(matches("orders", "old_orders")).toBe(true);
    expect(matches("^orders$", "old_orders")).toBe(false);
    expect(matches("^orders$", "orders")).toBe(true);
    expect(matches(".*", "")).toBe(true);
  });

  it("rewrites the RE2 forms JavaScript lacks", () => {
    expect(matches("(?i)^ORDERS$", "orders")).toBe(true);
    expect(matches("^(?P<kind>orders|invoices)$", "invoices")).toBe(true);
    expect(matches("\\Aorders\\z", "orders")).toBe(true);
    expect(matches("\\Aorders\\z", "orders2")).toBe(false);
    expect(matches("^\\Qa.b\\E$", "a.b")).toBe(true);
    expect(matches("^\\Qa.b\\E$", "axb")).toBe(false);
    expect(matches("^[[:alpha:]]+[[:digit:]]$", "orders1")).toBe(true);
    expect(matches("^[[:alpha:]]+$", "orders1")).toBe(false);
    expect(matches("^\\x{41}$", "A")).toBe(true);
    expect(matches("^[]a]$", "]")).toBe(true);
    expect(matches("^[^]a]$", "b")).toBe(true);
  });

  it("keeps RE2's meaning where the dialects part", () => {
    // RE2's . is anything but \n; JavaScript's also stops at \r.
    expect(matches("^a.b$", "a\rb")).toBe(true);
    expect(matches("^a.b$", "a\nb")).toBe(false);
    expect(matches("(?s)^a.b$", "a\nb")).toBe(true);
    // RE2's \s is [\t\n\f\r ]: no vertical tab, no Unicode spaces.
    expect(matches("^\\s$", "\v")).toBe(false);
    expect(matches("^\\s$", "\u00a0")).toBe(false);
    expect(matches("^\\s$", " ")).toBe(true);
    expect(matches("^[\\s]$", "\t")).toBe(true);
  });

  it("refuses what Go's regexp.Compile refuses", () => {
    expect(refusal("(a)\\1")).toMatch(/back references/);
    expect(refusal("^(?=orders)")).toMatch(/lookaround/);
    expect(refusal("^(?!orders)")).toMatch(/lookaround/);
    expect(refusal("(?<=a)b")).toMatch(/lookaround/);
    expect(refusal("\\i")).toMatch(/invalid escape sequence: \\i/);
    expect(refusal("a{1001}")).toMatch(/invalid repeat count/);
    expect(refusal("[a")).toMatch(/missing closing ]/);
    expect(refusal("(")).toMatch(/invalid pattern/);
    expect(refusal("a**")).toMatch(/invalid pattern/);
    expect(refusal("[[:nope:]]")).toMatch(/invalid character class/);
    expect(refusal("abc\\")).toMatch(/trailing backslash/);
  });

  it("refuses, with the reason, the RE2 forms it does not translate", () => {
    expect(refusal("(?U)a+")).toMatch(/ungreedy/);
    expect(refusal("a(?i)b")).toMatch(/only at the start/);
    expect(refusal("(?i:a)b")).toMatch(/only at the start/);
    expect(refusal("\\pL")).toMatch(/Unicode classes/);
    expect(refusal("[[:^alpha:]]")).toMatch(/negated POSIX/);
  });
});

import { describe, expect, it } from "vitest";
import { hasKeys, packUnits, unpackUnits } from "./publish-units";

describe("publish units", () => {
  it("round-trip, with keys only when some publish has one", () => {
    const plain = packUnits([{ n: 1 }, { n: 200 }]);
    expect(plain.keys).toBeUndefined();
    expect([...plain.sizes]).toEqual([1, 200]);
    expect(hasKeys(plain)).toBe(false);
    expect(unpackUnits(plain)).toEqual([{ n: 1 }, { n: 200 }]);
    const keyed = packUnits([{ n: 1, key: "a" }, { n: 3 }]);
    expect(keyed.keys).toEqual(["a", null]);
    expect(hasKeys(keyed)).toBe(true);
    expect(unpackUnits(keyed)).toEqual([{ n: 1, key: "a" }, { n: 3 }]);
    expect(hasKeys(undefined)).toBe(false);
  });
});

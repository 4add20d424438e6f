// The publishes within one publish RPC (src/objects.ts's PublishUnit: a count of messages and an
// idempotency key), as the RPC carries them: a typed array of counts, which structured clone
// copies at once, and the keys only when a publish has one. (As objects, 200 pipelined PUBs made
// 200 values to clone per RPC.)
import type { PublishUnit, PublishUnits } from "./objects";

export function packUnits(units: readonly PublishUnit[]): PublishUnits {
  const sizes = new Uint32Array(units.length);
  let keyed = false;
  units.forEach((u, i) => {
    sizes[i] = u.n;
    if (u.key !== undefined) keyed = true;
  });
  return keyed ? { sizes, keys: units.map((u) => u.key ?? null) } : { sizes };
}

export function unpackUnits(units: PublishUnits): PublishUnit[] {
  return Array.from(units.sizes, (n, i) => {
    const key = units.keys?.[i];
    return key === null || key === undefined ? { n } : { n, key };
  });
}

/** Whether any publish has a key (without unpacking). */
export const hasKeys = (units: PublishUnits | undefined) => units?.keys?.some((k) => k !== null) ?? false;

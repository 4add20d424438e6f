// Builds the nsq-edge command once, so the processes the tests start never race to build it.
// @ts-expect-error: a plain .mjs script without types
import { build } from "../../scripts/build-cli.mjs";

export default async function setup() {
  await build();
}

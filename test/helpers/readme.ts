// README snippets as tests run them: a fenced code block preceded by `<!-- snippet: NAME -->`
// is the snippet NAME. Tests run the README's own text, so the README cannot drift from what works.
import { readFileSync } from "node:fs";
import path from "node:path";

const README = path.resolve(import.meta.dirname, "..", "..", "README.md");

/** The code of the fenced block right after `<!-- snippet: NAME -->` in README.md. */
export function readmeSnippet(name: string): string {
  const text = readFileSync(README, "utf8");
  const marker = `<!-- snippet: ${name} -->`;
  const at = text.indexOf(marker);
  if (at < 0) throw new Error(`README.md has no snippet named ${name}`);
  const m = /^[ \t]*```[^\n]*\n([\s\S]*?)^[ \t]*```/m.exec(text.slice(at + marker.length));
  if (!m) throw new Error(`README.md snippet ${name} has no fenced block after its marker`);
  return m[1];
}

/** Every snippet name in README.md, in order: a test can check that each one is run somewhere. */
export function readmeSnippetNames(): string[] {
  const text = readFileSync(README, "utf8");
  return [...text.matchAll(/<!-- snippet: ([\w-]+) -->/g)].map((m) => m[1]);
}

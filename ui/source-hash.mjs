// The fingerprint of the app's sources, embedded in the built HTML so a Python test can tell when
// the committed bundle is older than ui/ (file times mean nothing after a git clone, so: content).
// Rule (mirrored in tests/server/test_chart_bundle.py): every file under ui/ except the folders
// node_modules/ and dist/, sorted by POSIX relative path; sha256 over "path\0sha256(content)\n" lines.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";

const SKIPPED = new Set(["node_modules", "dist"]);

function files(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return SKIPPED.has(entry.name) ? [] : files(path);
    return entry.isFile() ? [path] : [];
  });
}

export function sourceHash(root) {
  const lines = files(root)
    .map((path) => [relative(root, path).split(sep).join("/"), path])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, path]) => `${name}\0${createHash("sha256").update(readFileSync(path)).digest("hex")}\n`);
  return createHash("sha256").update(lines.join("")).digest("hex");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(sourceHash(process.cwd()));
}

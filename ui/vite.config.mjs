// Builds ui/ into ONE self-contained HTML file (all JS and CSS inlined, nothing fetched), stamped
// with the hash of its sources.
import { fileURLToPath } from "node:url";

import { defineConfig } from "vite";
import { viteSingleFile } from "vite-plugin-singlefile";

import { sourceHash } from "./source-hash.mjs";

const root = fileURLToPath(new URL(".", import.meta.url));

function stampSourceHash() {
  return {
    name: "square-bi-source-hash",
    transformIndexHtml(html) {
      const tag = `<meta name="square-bi-source-hash" content="${sourceHash(root)}" />`;
      return html.replace("</head>", `  ${tag}\n  </head>`);
    },
  };
}

export default defineConfig({
  root,
  base: "./",
  plugins: [stampSourceHash(), viteSingleFile({ removeViteModuleLoader: true })],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    modulePreload: false,
    reportCompressedSize: false,
    chunkSizeWarningLimit: 2000,
  },
});

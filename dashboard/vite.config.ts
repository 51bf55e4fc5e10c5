// Builds the single-page app into the Python package, where the dashboard
// backend (python/comet/dashboard) serves it at `/`.
//
// `npm run dev` serves the app with hot reload and forwards /api and /metrics
// to a running dashboard (COMET_DASHBOARD_URL, default http://127.0.0.1:8265).
import { defineConfig } from "vite";

const backend = process.env.COMET_DASHBOARD_URL ?? "http://127.0.0.1:8265";

export default defineConfig({
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: {
    outDir: "../python/comet/dashboard/static",
    emptyOutDir: true,
    assetsDir: "assets",
    // One small bundle; no source maps in the wheel.
    sourcemap: false,
  },
  server: {
    proxy: { "/api": backend, "/metrics": backend },
  },
});

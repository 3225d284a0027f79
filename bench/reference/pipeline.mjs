// pipeline.mjs: the TypeScript worker's export run, reproduced from its
// documented behaviour so the Go worker can be compared with it on the same
// input, machine and sync server.
//
//   node pipeline.mjs --archive export.zip --sync-url http://127.0.0.1:7777 \
//        --path /user/google_maps_locations
//
// What it does, like the reference worker on every run: read every CSV of the
// saved lists in the archive (a zip, or a directory), turn each row into
// {Title, Note, URL, Comment, source_file, exported_at}, and write
// {locations: [...all rows...], metadata: {count, lastUpdated, files}} to one
// keepsync document with keepsync's writeDoc (the whole locations array is
// replaced on every run). It exits once the sync server has acknowledged the
// document's heads, printing one JSON line with what it did.
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import AdmZip from "adm-zip";
import { parse } from "csv-parse/sync";
import { connect, ensureDoc, writeDoc, serverHas, withTimeout } from "./keepsync.mjs";

const { values } = parseArgs({
  options: {
    archive: { type: "string" },
    "sync-url": { type: "string", default: process.env.SYNC_URL ?? "http://localhost:7777" },
    path: { type: "string", default: process.env.KEEPSYNC_DOC_PATH ?? "/user/google_maps_locations" },
    "timeout-ms": { type: "string", default: "600000" },
  },
});
if (!values.archive) {
  console.error("pipeline: --archive is required");
  process.exit(2);
}

// csvFiles returns [{name, text}] for every CSV in a zip or a directory tree.
function csvFiles(archive) {
  const out = [];
  if (fs.statSync(archive).isDirectory()) {
    const walk = (dir) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.name.toLowerCase().endsWith(".csv")) out.push({ name: e.name, text: fs.readFileSync(p, "utf8") });
      }
    };
    walk(archive);
  } else {
    const zip = new AdmZip(archive);
    for (const e of zip.getEntries()) {
      if (!e.isDirectory && e.entryName.toLowerCase().endsWith(".csv")) {
        out.push({ name: path.posix.basename(e.entryName), text: e.getData().toString("utf8") });
      }
    }
  }
  return out;
}

// rows parses one saved-list CSV: an optional description line and blank line
// come before the header; columns are matched by header name.
function rows(text) {
  const lines = text.replace(/^\uFEFF/, "");
  const start = lines.startsWith("Title,") ? 0 : lines.search(/\r?\n\r?\nTitle,/);
  const body = start > 0 ? lines.slice(lines.indexOf("Title,", start)) : lines;
  return parse(body, { columns: true, skip_empty_lines: true, relax_column_count: true });
}

const t0 = performance.now();
const exportedAt = new Date().toISOString();
const files = csvFiles(values.archive);
const locations = [];
for (const f of files) {
  for (const r of rows(f.text)) {
    locations.push({
      Title: r.Title ?? "",
      Note: r.Note ?? "",
      URL: r.URL ?? "",
      Comment: r.Comment ?? "",
      source_file: f.name,
      exported_at: exportedAt,
    });
  }
}
const t1 = performance.now();

const timeout = Number(values["timeout-ms"]);
const conn = await withTimeout(connect(values["sync-url"]), timeout, "connecting");
const { handle, touched } = await withTimeout(ensureDoc(conn, values.path), timeout, "resolving the path");
if (!touched.includes(handle)) await withTimeout(handle.doc(), timeout, "loading the document");
writeDoc(handle, {
  locations,
  metadata: { count: locations.length, lastUpdated: exportedAt, files: files.map((f) => f.name) },
});
await withTimeout(Promise.all([...new Set([...touched, handle])].map((h) => serverHas(conn, h))), timeout, "waiting for the server");
const t2 = performance.now();
process.stdout.write(
  JSON.stringify({ rows: locations.length, files: files.length, documentId: handle.documentId, parseMs: Math.round(t1 - t0), syncMs: Math.round(t2 - t1) }) + "\n",
  () => process.exit(0),
);

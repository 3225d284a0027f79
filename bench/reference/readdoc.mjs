// readdoc.mjs reads the keepsync document at a path from the sync server, as
// a JS app would, and prints one JSON line: its saved size in bytes (Automerge
// save()), its number of changes and heads, and with --json the document
// itself.
//
//   node readdoc.mjs --sync-url http://127.0.0.1:7777 --path /google-maps/places [--json]
import { parseArgs } from "node:util";
import * as A from "@automerge/automerge";
import { connect, findDoc, serverHas, withTimeout } from "./keepsync.mjs";

const { values } = parseArgs({
  options: {
    "sync-url": { type: "string", default: "http://localhost:7777" },
    path: { type: "string" },
    json: { type: "boolean", default: false },
    "timeout-ms": { type: "string", default: "120000" },
  },
});
if (!values.path) {
  console.error("readdoc: --path is required");
  process.exit(2);
}
const timeout = Number(values["timeout-ms"]);
const conn = await withTimeout(connect(values["sync-url"]), timeout, "connecting");
const handle = await withTimeout(findDoc(conn, values.path), timeout, "resolving the path");
if (!handle) {
  console.error(`readdoc: ${values.path}: not found`);
  process.exit(3);
}
const doc = await withTimeout(handle.doc(), timeout, "loading the document");
if (!doc) {
  console.error(`readdoc: ${values.path}: document unavailable`);
  process.exit(3);
}
await withTimeout(serverHas(conn, handle), timeout, "catching up with the server");
const current = handle.docSync();
const out = {
  documentId: handle.documentId,
  bytes: A.save(current).length,
  changes: A.getAllChanges(current).length,
  heads: A.getHeads(current),
};
if (values.json) out.doc = JSON.parse(JSON.stringify(current));
// Exit only once stdout is flushed: writes to a pipe are asynchronous.
process.stdout.write(JSON.stringify(out) + "\n", () => process.exit(0));

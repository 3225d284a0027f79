// edit.mjs changes the keepsync document at a path as a JS app would, and
// waits until the sync server has the change.
//
//   node edit.mjs --sync-url http://127.0.0.1:7777 --path /google-maps/places \
//        --fn 'd.places["cid:1"].myRating = 5'
//
// --fn is the body of a function of `d`, run inside handle.change.
import { parseArgs } from "node:util";
import { connect, findDoc, serverHas, withTimeout } from "./keepsync.mjs";

const { values } = parseArgs({
  options: {
    "sync-url": { type: "string", default: "http://localhost:7777" },
    path: { type: "string" },
    fn: { type: "string" },
    "timeout-ms": { type: "string", default: "120000" },
  },
});
if (!values.path || !values.fn) {
  console.error("edit: --path and --fn are required");
  process.exit(2);
}
const edit = new Function("d", values.fn);
const timeout = Number(values["timeout-ms"]);
const conn = await withTimeout(connect(values["sync-url"]), timeout, "connecting");
const handle = await withTimeout(findDoc(conn, values.path), timeout, "resolving the path");
if (!handle) {
  console.error(`edit: ${values.path}: not found`);
  process.exit(3);
}
await withTimeout(handle.doc(), timeout, "loading the document");
await withTimeout(serverHas(conn, handle), timeout, "catching up with the server");
handle.change((d) => edit(d));
await withTimeout(serverHas(conn, handle), timeout, "waiting for the server");
process.exit(0);

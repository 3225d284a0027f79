// syncserver.mjs starts Tonk's real sync server (@tonk/server 0.3.2, installed
// by `make deps` under test/harness/v1) bound to 127.0.0.1, for the benchmark
// and the soak test.
//
//   node syncserver.mjs --port 0 --dir /tmp/store
//
// It prints one line `ready <port>` on stdout once it listens, and runs until
// it gets SIGINT or SIGTERM (or is killed). Restarted on the same --dir it
// serves the same documents and the same root directory.
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import path from "node:path";
import fs from "node:fs";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    dir: { type: "string" },
    harness: { type: "string" },
  },
});
if (!values.dir) {
  console.error("syncserver: --dir is required");
  process.exit(2);
}
const here = path.dirname(fileURLToPath(import.meta.url));
const harness = values.harness ?? path.resolve(here, "../../test/harness/v1");
const require = createRequire(path.join(harness, "package.json"));
let entry;
try {
  entry = require.resolve("@tonk/server");
} catch (err) {
  console.error(`syncserver: @tonk/server not installed under ${harness} (run make deps): ${err.message}`);
  process.exit(2);
}
process.env.NODE_ENV = "development"; // no nginx manager
const { TonkServer } = await import(pathToFileURL(entry).href);

fs.mkdirSync(values.dir, { recursive: true });
const server = new TonkServer({ port: Number(values.port), persistencePath: values.dir, verbose: false });
server.server.on("upgrade", (request, socket, head) => {
  server.socket.handleUpgrade(request, socket, head, (ws) => {
    server.socket.emit("connection", ws, request);
  });
});
// Ready once it listens and its root directory exists (root.json is written
// asynchronously after construction; until then /.well-known/root.json is 404).
server.server.listen(Number(values.port), "127.0.0.1", () => {
  const rootFile = path.join(values.dir, "root.json");
  const wait = () => {
    if (fs.existsSync(rootFile)) process.stdout.write(`ready ${server.server.address().port}\n`);
    else setTimeout(wait, 20);
  };
  wait();
});
server.server.on("error", (err) => {
  console.error(`syncserver: ${err.message}`);
  process.exit(1);
});
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => process.exit(0));
}

// Tonk's sync server (@tonk/server) for docker-compose: the keepsync server
// the worker talks to at SYNC_URL. Settings come from the environment:
//
//   PORT              port to listen on (default 7777)
//   HOST              address to bind (default 0.0.0.0, every interface)
//   PERSISTENCE_PATH  where documents and root.json are kept (default /data)
//   VERBOSE           "false" to quiet the server's own log (default true)
//
// It serves GET /ping, GET /.well-known/root.json and the automerge-repo
// WebSocket at /sync. SIGTERM or SIGINT flush documents to disk and exit.
import fs from 'node:fs';
import path from 'node:path';

// @tonk/server starts an nginx manager for app bundles unless NODE_ENV is
// development; only its sync service is used here.
process.env.NODE_ENV = 'development';

const { TonkServer } = await import('@tonk/server');

const port = Number.parseInt(process.env.PORT || '7777', 10);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`sync-server: invalid PORT ${JSON.stringify(process.env.PORT)}`);
  process.exit(2);
}
const host = process.env.HOST || '0.0.0.0';
const persistencePath = process.env.PERSISTENCE_PATH || '/data';
const verbose = process.env.VERBOSE !== 'false';

// TonkServer creates <path>/stores without parents, and logs EEXIST when its
// own two attempts race: make the folders first.
for (const dir of ['stores', 'bundles']) {
  fs.mkdirSync(path.join(persistencePath, dir), { recursive: true });
}

const tonk = new TonkServer({ port, persistencePath, verbose });

// TonkServer.start() binds every interface; listen on HOST instead, with the
// same WebSocket upgrade handling.
tonk.server.on('upgrade', (request, socket, head) => {
  tonk.socket.handleUpgrade(request, socket, head, ws => {
    tonk.socket.emit('connection', ws, request);
  });
});
tonk.server.on('error', err => {
  console.error(`sync-server: cannot listen on ${host}:${port}: ${err.message}`);
  process.exit(1);
});
tonk.server.listen(port, host, () => {
  const addr = tonk.server.address();
  console.log(`sync-server: listening on ${addr.address}:${addr.port}, data in ${persistencePath}`);
});

let stopping = false;
async function shutdown(signal) {
  if (stopping) return;
  stopping = true;
  console.log(`sync-server: ${signal}: saving documents and stopping`);
  // Never hang on open WebSocket clients: exit anyway after a few seconds.
  setTimeout(() => process.exit(0), 3000).unref();
  try {
    await tonk.repo.flush();
    for (const client of tonk.socket.clients) client.terminate();
    await tonk.stop();
  } catch (err) {
    console.error(`sync-server: while stopping: ${err.message}`);
    process.exit(1);
  }
  process.exit(0);
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));

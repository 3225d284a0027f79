// Health check of the sync server for docker-compose (the image has no
// curl): exits 0 when GET /.well-known/root.json answers with a rootId,
// which is once the root document exists and the server can serve keepsync.
const port = process.env.PORT || '7777';
const url = `http://127.0.0.1:${port}/.well-known/root.json`;
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
  const body = await res.json();
  if (!res.ok || typeof body.rootId !== 'string' || body.rootId === '') {
    console.error(`unhealthy: ${url} answered ${res.status} without a rootId`);
    process.exit(1);
  }
  console.log(`ok: ${url} rootId ${body.rootId}`);
} catch (err) {
  console.error(`unhealthy: ${url}: ${err.message}`);
  process.exit(1);
}

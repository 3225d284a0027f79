// A sync server of keepsync's shape on automerge-repo 2.x, for tests, bound
// to 127.0.0.1. Env: PORT, DATA_DIR. Prints "READY <port>" when serving.
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import os from 'node:os'
import { Repo } from '@automerge/automerge-repo'
import { WebSocketServerAdapter } from '@automerge/automerge-repo-network-websocket'
import { NodeFSStorageAdapter } from '@automerge/automerge-repo-storage-nodefs'
import { WebSocketServer } from 'ws'

const port = Number(process.env.PORT)
const dir = process.env.DATA_DIR
if (!port || !dir) {
  console.error('server.mjs: PORT and DATA_DIR are required')
  process.exit(2)
}
fs.mkdirSync(path.join(dir, 'stores'), { recursive: true })
const wss = new WebSocketServer({ path: '/sync', noServer: true, maxPayload: 100 * 1024 * 1024 })
const repo = new Repo({
  network: [new WebSocketServerAdapter(wss)],
  storage: new NodeFSStorageAdapter(path.join(dir, 'stores')),
  peerId: `sync-server-${os.hostname()}`,
  sharePolicy: async () => false,
})

const rootFile = path.join(dir, 'root.json')
let rootId
if (fs.existsSync(rootFile)) {
  rootId = JSON.parse(fs.readFileSync(rootFile, 'utf8')).rootId
} else {
  const now = Date.now()
  const h = repo.create({ type: 'dir', timestamps: { create: now, modified: now }, children: [] })
  rootId = h.documentId
  await repo.flush()
  fs.writeFileSync(rootFile, JSON.stringify({ rootId, timestamp: now }))
}

const server = http.createServer((req, res) => {
  if (req.url === '/.well-known/root.json') {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(fs.readFileSync(rootFile))
  } else if (req.url === '/ping') {
    res.end('pong')
  } else {
    res.writeHead(404)
    res.end()
  }
})
server.on('upgrade', (req, socket, head) => {
  wss.handleUpgrade(req, socket, head, ws => wss.emit('connection', ws, req))
})
await new Promise((resolve, reject) => {
  server.once('error', reject)
  server.listen(port, '127.0.0.1', resolve)
})
console.log(`READY ${port}`)

async function shutdown() {
  try { await repo.flush() } catch {}
  process.exit(0)
}
process.on('SIGTERM', shutdown)
process.on('SIGINT', shutdown)

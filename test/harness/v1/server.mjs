// Tonk's real sync server (@tonk/server 0.3.2) for tests, bound to 127.0.0.1.
// Env: PORT, DATA_DIR. Prints "READY <port>" once root.json exists.
import fs from 'node:fs'
import path from 'node:path'

process.env.NODE_ENV = 'development' // skips @tonk/server's nginx manager
const { TonkServer } = await import('@tonk/server')

const port = Number(process.env.PORT)
const dir = process.env.DATA_DIR
if (!port || !dir) {
  console.error('server.mjs: PORT and DATA_DIR are required')
  process.exit(2)
}
const tonk = new TonkServer({ port, persistencePath: dir, verbose: false })
// TonkServer.start() listens on every interface; bind loopback ourselves.
tonk.server.on('upgrade', (req, socket, head) => {
  tonk.socket.handleUpgrade(req, socket, head, ws => tonk.socket.emit('connection', ws, req))
})
await new Promise((resolve, reject) => {
  tonk.server.once('error', reject)
  tonk.server.listen(port, '127.0.0.1', resolve)
})
const rootFile = path.join(dir, 'root.json')
for (let i = 0; i < 600 && !fs.existsSync(rootFile); i++) await new Promise(r => setTimeout(r, 50))
if (!fs.existsSync(rootFile)) {
  console.error('server.mjs: root.json was not created')
  process.exit(1)
}
console.log(`READY ${port}`)

async function shutdown() {
  try { await tonk.repo.flush?.() } catch {}
  process.exit(0)
}
process.on('SIGTERM', shutdown)
process.on('SIGINT', shutdown)

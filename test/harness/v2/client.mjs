// A JS keepsync-style client for tests: automerge-repo + its WebSocket
// adapter (the versions pinned in this folder), path lookup from root.json
// the way keepsync does it. The same file lives in ../v1 and ../v2.
//
//   node client.mjs read  <syncURL> <path>          -> {"found":bool,"value":...}
//   node client.mjs ls    <syncURL> <path>          -> {"found":bool,"entries":[...]}
//   node client.mjs write <syncURL> <path>  < json  (keepsync writeDoc)
//   node client.mjs edit  <syncURL> <path> <key> < json  (doc[key] = value)
//
// In read output, a string that is not a JS string (an Automerge scalar
// string read as an ImmutableString/RawString object) is printed as
// {"$notAString": "<constructor name>", "value": "..."}, so the Go side
// can assert that every string it wrote reads as typeof 'string'.
import * as A from '@automerge/automerge'
import { Repo } from '@automerge/automerge-repo'
import { BrowserWebSocketClientAdapter } from '@automerge/automerge-repo-network-websocket'

const [op, syncURL, docPath, key] = process.argv.slice(2)
const wsURL = syncURL.replace(/^http/, 'ws') + '/sync'

function fail(msg) {
  console.error(`client.mjs: ${msg}`)
  process.exit(1)
}
const deadline = setTimeout(() => fail(`${op} ${docPath}: timed out`), Number(process.env.CLIENT_TIMEOUT_MS || 60000))

async function connect() {
  const repo = new Repo({ network: [new BrowserWebSocketClientAdapter(wsURL)], sharePolicy: async () => true })
  await new Promise(resolve => repo.networkSubsystem.once('peer', resolve))
  return repo
}

// docOf returns a ready handle's doc: doc() is synchronous in 2.x and
// returns a promise in 1.x, where docSync() is the synchronous one.
function docOf(h) {
  const d = h.doc()
  if (d && typeof d.then === 'function') return h.docSync()
  return d
}

async function find(repo, id) {
  let h = repo.find(id.startsWith('automerge:') ? id : `automerge:${id}`)
  if (h && typeof h.then === 'function') h = await h // 2.x: find is async
  const d = await h.doc()
  if (!d) fail(`document ${id} is unavailable`)
  return h
}

async function rootId() {
  const res = await fetch(`${syncURL}/.well-known/root.json`)
  if (!res.ok) fail(`root.json: HTTP ${res.status}`)
  return (await res.json()).rootId
}

function segments(p) {
  return p.split('/').filter(s => s !== '')
}

// lookup walks keepsync's tree: children by name (===), type 'dir' to descend.
async function lookup(repo, p) {
  let h = await find(repo, await rootId())
  const segs = segments(p)
  const handles = [h]
  for (let i = 0; i < segs.length; i++) {
    const d = docOf(h)
    const child = (d.children || []).find(c => c.name === segs[i])
    if (!child) return { found: false, handles }
    if (i < segs.length - 1 && child.type !== 'dir') return { found: false, handles }
    h = await find(repo, child.pointer)
    handles.push(h)
  }
  return { found: true, handle: h, handles }
}

function mark(v) {
  if (typeof v === 'string') return v
  if (v === null || typeof v !== 'object') return v
  if (Array.isArray(v)) return v.map(mark)
  const name = v.constructor && v.constructor.name
  if (name && name !== 'Object' && typeof v.toString === 'function' && !(v instanceof Date)) {
    if (/String/.test(name)) return { $notAString: name, value: v.toString() }
    if (name === 'Counter') return v.value
  }
  const out = {}
  for (const k of Object.keys(v)) out[k] = mark(v[k])
  return out
}

async function readStdin() {
  const chunks = []
  for await (const c of process.stdin) chunks.push(c)
  return JSON.parse(Buffer.concat(chunks).toString('utf8'))
}

// waitServerHas polls the server through a second connection until it
// holds the heads of every handle given.
async function waitServerHas(handles) {
  const probe = await connect()
  for (const h of handles) {
    const heads = A.getHeads(docOf(h)) // hex hashes (2.x's handle.heads() is base58)
    const p = await find(probe, h.documentId)
    for (;;) {
      const d = docOf(p)
      const ok = A.hasHeads ? A.hasHeads(d, heads) : JSON.stringify(A.getHeads(d).sort()) === JSON.stringify([...heads].sort())
      if (ok) break
      await new Promise(r => setTimeout(r, 50))
    }
  }
}

// out writes the result; process.exit would cut a large write to a pipe, so
// exit only once it is flushed.
let output = ''
function out(s) {
  output += s + '\n'
}

function now() {
  return Date.now()
}

async function createPath(repo, p, value) {
  const segs = segments(p)
  let parent = await find(repo, await rootId())
  const touched = [parent]
  for (let i = 0; i < segs.length; i++) {
    const last = i === segs.length - 1
    const d = docOf(parent)
    const child = (d.children || []).find(c => c.name === segs[i])
    if (child) {
      parent = await find(repo, child.pointer)
      touched.push(parent)
      continue
    }
    const h = repo.create()
    const t = now()
    if (last) {
      h.change(doc => Object.assign(doc, value))
    } else {
      h.change(doc => Object.assign(doc, { type: 'dir', name: segs[i], timestamps: { create: t, modified: t }, children: [] }))
    }
    parent.change(doc => {
      doc.children.push({ name: segs[i], type: last ? 'doc' : 'dir', pointer: h.documentId, timestamps: { create: t, modified: t } })
      doc.timestamps.modified = t
    })
    parent = h
    touched.push(h)
  }
  return { handle: parent, touched }
}

function writeInto(target, value) {
  for (const k of Object.keys(value)) {
    const v = value[k]
    if (v && typeof v === 'object' && !Array.isArray(v) && target[k] && typeof target[k] === 'object' && !Array.isArray(target[k])) {
      writeInto(target[k], v)
    } else {
      target[k] = v
    }
  }
  for (const k of Object.keys(target)) if (!(k in value)) delete target[k]
}

const repo = await connect()
switch (op) {
  case 'read': {
    const r = await lookup(repo, docPath)
    out(JSON.stringify(r.found ? { found: true, value: mark(docOf(r.handle)) } : { found: false }))
    break
  }
  case 'ls': {
    const r = await lookup(repo, docPath)
    const d = r.found ? docOf(r.handle) : null
    if (!d || d.type !== 'dir') {
      out(JSON.stringify({ found: false }))
      break
    }
    out(JSON.stringify({ found: true, entries: mark(d.children) }))
    break
  }
  case 'write': {
    const value = await readStdin()
    const r = await lookup(repo, docPath)
    let touched
    if (r.found) {
      r.handle.change(doc => writeInto(doc, value))
      touched = [r.handle]
    } else {
      touched = (await createPath(repo, docPath, value)).touched
    }
    await waitServerHas(touched)
    out(JSON.stringify({ ok: true }))
    break
  }
  case 'edit': {
    const value = await readStdin()
    const r = await lookup(repo, docPath)
    if (!r.found) fail(`${docPath}: not found`)
    r.handle.change(doc => {
      doc[key] = value
    })
    await waitServerHas([r.handle])
    out(JSON.stringify({ ok: true }))
    break
  }
  default:
    fail(`unknown op ${op}`)
}
clearTimeout(deadline)
process.stdout.write(output, () => process.exit(0))

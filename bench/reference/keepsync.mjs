// keepsync.mjs: the small part of keepsync (Tonk's sync layer) that the
// reference pipeline and the bench tools need, on automerge-repo 1.2.1 like
// @tonk/server 0.3.2: connect to the sync server, walk and create keepsync's
// path tree, keepsync's writeDoc semantics, and "the server has these heads".
import { Repo } from "@automerge/automerge-repo";
import { BrowserWebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket";

// connect opens a Repo on syncUrl's WebSocket (/sync) and resolves once the
// server has answered the join, with the server's storage id (the key of the
// heads it acknowledges) and the root directory's document id.
export async function connect(syncUrl, { timeoutMs = 30000 } = {}) {
  const base = syncUrl.replace(/\/+$/, "");
  const res = await fetch(`${base}/.well-known/root.json`);
  if (!res.ok) throw new Error(`GET root.json: HTTP ${res.status}`);
  const { rootId } = await res.json();
  const wsUrl = base.replace(/^http/, "ws") + "/sync";
  const repo = new Repo({
    network: [new BrowserWebSocketClientAdapter(wsUrl)],
    sharePolicy: async () => true,
  });
  const peerId = await withTimeout(
    new Promise((resolve) => repo.networkSubsystem.once("peer", (p) => resolve(p.peerId))),
    timeoutMs,
    "waiting for the sync server to answer the join",
  );
  const storageId = repo.peerMetadataByPeerId[peerId]?.storageId;
  if (!storageId) throw new Error("sync server announced no storage id");
  return { repo, rootId, storageId };
}

export function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timeout after ${ms} ms ${what}`)), ms);
    }),
  ]);
}

function splitPath(p) {
  return p.split("/").filter((s) => s !== "");
}

async function ready(handle, what) {
  const doc = await handle.doc();
  if (!doc) throw new Error(`${what}: document unavailable`);
  return doc;
}

// findDoc resolves a keepsync path to its document handle, or null when the
// path does not exist (keepsync's lookup: walk children by name from the root;
// reaching a doc before the last segment means not found).
export async function findDoc(conn, path) {
  const segs = splitPath(path);
  let dir = conn.repo.find(conn.rootId);
  let doc = await ready(dir, "root");
  for (let i = 0; i < segs.length; i++) {
    const child = (doc.children ?? []).find((c) => String(c.name) === segs[i]);
    if (!child) return null;
    const last = i === segs.length - 1;
    if (!last && String(child.type) !== "dir") return null;
    const h = conn.repo.find(String(child.pointer));
    if (last) return h;
    dir = h;
    doc = await ready(dir, segs.slice(0, i + 1).join("/"));
  }
  return dir;
}

// ensureDoc returns the handle of the document at path, creating missing
// directories and the document as keepsync does; touched lists every handle
// it changed (to wait for the server on them).
export async function ensureDoc(conn, path) {
  const segs = splitPath(path);
  if (segs.length === 0) throw new Error("path must name a document");
  const touched = [];
  let dir = conn.repo.find(conn.rootId);
  let doc = await ready(dir, "root");
  for (let i = 0; i < segs.length; i++) {
    const name = segs[i];
    const last = i === segs.length - 1;
    const child = (doc.children ?? []).find((c) => String(c.name) === name);
    if (child && (last ? String(child.type) === "doc" : String(child.type) === "dir")) {
      const h = conn.repo.find(String(child.pointer));
      if (last) return { handle: h, created: false, touched };
      dir = h;
      doc = await ready(dir, segs.slice(0, i + 1).join("/"));
      continue;
    }
    if (child && !last) throw new Error(`${segs.slice(0, i + 1).join("/")} is a document, not a directory`);
    const now = Date.now();
    const created = conn.repo.create();
    if (!last) {
      created.change((d) => {
        Object.assign(d, { type: "dir", name, timestamps: { create: now, modified: now }, children: [] });
      });
    }
    const ref = { name, type: last ? "doc" : "dir", pointer: created.documentId, timestamps: { create: now, modified: now } };
    dir.change((d) => {
      const at = d.children.findIndex((c) => String(c.name) === name);
      if (at >= 0) d.children.splice(at, 1, ref);
      else d.children.push(ref);
      d.timestamps.modified = now;
    });
    touched.push(dir, created);
    if (last) return { handle: created, created: true, touched };
    dir = created;
    doc = created.docSync();
  }
  throw new Error("unreachable");
}

// writeDoc applies keepsync's writeDoc(path, value) to a document: every key
// of value is set (recursing into objects present on both sides, arrays and
// scalars replaced whole) and keys that value lacks are deleted.
export function writeDoc(handle, value) {
  handle.change((d) => assign(d, value));
}

function isObject(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function assign(target, value) {
  for (const k of Object.keys(target)) {
    if (!(k in value)) delete target[k];
  }
  for (const [k, v] of Object.entries(value)) {
    if (isObject(v) && isObject(target[k])) assign(target[k], v);
    else target[k] = v;
  }
}

function sameHeads(a, b) {
  if (!a || !b || a.length !== b.length) return false;
  const x = [...a].sort();
  const y = [...b].sort();
  return x.every((h, i) => h === y[i]);
}

// serverHas resolves when the sync server has acknowledged the handle's
// current heads.
export function serverHas(conn, handle) {
  return new Promise((resolve) => {
    const check = () => {
      if (sameHeads(handle.getRemoteHeads(conn.storageId), handle.heads())) {
        handle.off("remote-heads", check);
        resolve();
      }
    };
    handle.on("remote-heads", check);
    check();
  });
}

// Tonk worker configuration for locations-worker (CommonJS: package.json has
// no "type": "module", so Tonk's dynamic import() of this file works).
//
// Build the binary first (`make build` puts it at bin/locations-worker),
// then: tonk worker register . && tonk worker start locations-worker
const path = require("path");

// Tonk runs `cd <process.cwd> && pm2 start "./<process.file> <process.args>"`
// with process.cwd taken relative to the directory the user typed the
// command in, so cwd is made absolute from this file's own directory.
const workerDir = path.join(__dirname);

const str = { type: "string" };
const int = { type: "integer" };
const ms = { type: "integer", description: "milliseconds since the Unix epoch" };

// JSON Schema of the document the worker writes (see docs/keepsync-schema.md).
// additionalProperties stay open: apps add their own fields to places.
const placesDocument = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  title: "Saved Google Maps places",
  description:
    "keepsync document at KEEPSYNC_DOC_PATH (default /google-maps/places), keyed layout. " +
    "The worker owns the fields listed here; any other field is an app's and is never touched.",
  type: "object",
  required: ["places", "lists", "metadata"],
  properties: {
    places: {
      type: "object",
      description: "Every place ever exported, by stable key (cid:<decimal>, place:<place id> or url:<hash>).",
      additionalProperties: {
        type: "object",
        required: ["key", "title", "mapsUrl", "starred"],
        properties: {
          key: str,
          title: str,
          address: str,
          countryCode: { type: "string", description: "ISO 3166-1 alpha-2" },
          lat: { type: "number" },
          lng: { type: "number" },
          mapsUrl: str,
          cid: { type: "string", description: "decimal Maps customer id" },
          featureId: { type: "string", description: "0x...:0x..." },
          placeId: { type: "string", description: "Google Places id (ChIJ...)" },
          starred: { type: "boolean" },
          lists: {
            type: "object",
            description: "The saved lists holding this place, by list name.",
            additionalProperties: {
              type: "object",
              properties: { note: str, comment: str, tags: { type: "array", items: str } },
            },
          },
          savedAt: ms,
          updatedAt: ms,
          removedAt: { ...ms, description: "set when the place disappeared upstream; the place keeps its data" },
        },
      },
    },
    lists: {
      type: "object",
      additionalProperties: {
        type: "object",
        required: ["name", "count"],
        properties: { name: str, description: str, count: int, removedAt: ms },
      },
    },
    metadata: {
      type: "object",
      properties: {
        schemaVersion: { const: 1 },
        source: { enum: ["api", "archive"] },
        lastExport: {
          type: "object",
          description: "The last export that changed this document (its data or its outcome).",
          properties: {
            startedAt: ms,
            finishedAt: ms,
            complete: { type: "boolean" },
            source: { enum: ["api", "archive"] },
            reason: str,
            error: str,
            problems: { type: "array", items: str },
            counts: {
              type: "object",
              properties: { places: int, lists: int, starred: int, withCoordinates: int, itemsRead: int },
            },
          },
        },
        worker: { type: "object", properties: { name: str, version: str } },
      },
    },
  },
};

module.exports = {
  runtime: {
    port: 5555,
    healthCheck: { endpoint: "/health", method: "GET", interval: 30000, timeout: 5000 },
  },
  process: {
    file: "bin/locations-worker",
    args: "start",
    cwd: workerDir,
    instances: 1,
    autorestart: true,
    // The worker holds the keepsync document in memory, and Automerge's
    // in-memory form of text is large: about 110 MB per 1,000 places at the
    // first import (docs/benchmarks.md). 2G leaves room for ~15,000 places;
    // raise it if you have more, or pm2 restarts the worker mid-import.
    max_memory_restart: "2G",
    env: {
      LOCATIONS_WORKER_DATA: path.join(workerDir, "data"),
    },
  },
  schemas: {
    documents: {
      default: placesDocument,
    },
  },
};

#!/usr/bin/env node
// The Node `ws` broadcast server bench/ws_push.sh measures mp-serve against, speaking the
// subset of mp-serve's push protocol the benchmark uses (ARCHITECTURE.md, "WebSocket push"):
//
//   - a WebSocket upgrade on any path (the query is read only for the welcome's topics);
//     the first frame is the same-shaped `welcome`;
//   - POST /api/ws/broadcast {"topic","type","data","priority"} builds the event JSON once,
//     {"id":"EPOCH:SEQ","type","topic","epoch","seq","priority","ts","data"}, sends it to
//     every open client with the idiomatic ws loop, and answers 200
//     {"topic","id","seq","subscribers"}.
//
// No auth, no topic filtering, no history: every client gets every broadcast, which is what
// the benchmark subscribes to anyway. The message is encoded to a Buffer once, so Node is
// not charged for 10,000 UTF-8 encodings of the same string; `ts` has microseconds
// (timeOrigin + performance.now()) as mp-serve's does, not Date.now()'s milliseconds.
//
// Usage: node bench/node/ws_server.js PORT   (0: a free port; prints "listening on PORT")
'use strict';

const crypto = require('crypto');
const http = require('http');
const { WebSocket, WebSocketServer } = require('ws');

const port = Number(process.argv[2] || 0);
const epoch = crypto.randomBytes(4).toString('hex');
let seq = 0;
let nextConnection = 0;

function answer(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function broadcast(req, res) {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      answer(res, 400, { error: 'invalid_json', message: 'the body is not JSON' });
      return;
    }
    const topic = body.topic || `user:${body.user_id}`;
    seq += 1;
    const id = `${epoch}:${seq}`;
    const msg = Buffer.from(JSON.stringify({
      id, type: body.type || 'message', topic, epoch, seq, priority: body.priority || 'normal',
      ts: (performance.timeOrigin + performance.now()) / 1000, data: body.data === undefined ? {} : body.data,
    }));
    let subscribers = 0;
    for (const c of wss.clients) {
      if (c.readyState === WebSocket.OPEN) {
        c.send(msg, { binary: false });
        subscribers += 1;
      }
    }
    answer(res, 200, { topic, id, seq, subscribers });
  });
}

const server = http.createServer((req, res) => {
  if (req.method === 'POST' && req.url.split('?')[0] === '/api/ws/broadcast') {
    broadcast(req, res);
  } else if (req.url === '/healthz') {
    answer(res, 200, { status: 'ok' });
  } else {
    answer(res, 404, { error: 'not_found', message: 'no such route' });
  }
});
server.keepAliveTimeout = 60000;

const wss = new WebSocketServer({ server, perMessageDeflate: false });
wss.on('connection', (ws, req) => {
  const query = new URL(req.url, 'http://localhost').searchParams;
  const topics = (query.get('topics') || '').split(',').filter((t) => t);
  nextConnection += 1;
  ws.send(JSON.stringify({
    type: 'welcome', connection_id: `n${nextConnection.toString(16)}`,
    user_id: query.get('user_id') || 'anonymous', topics, ping_interval_ms: 20000,
  }));
  ws.on('error', () => {});
});

process.on('SIGTERM', () => {
  for (const c of wss.clients) c.terminate();
  server.close(() => process.exit(0));
});

server.listen(port, '127.0.0.1', () => {
  console.log(`listening on ${server.address().port}`);
});

/**
 * The start-up floor Hearth is compared with: a bare Node server with what every gateway needs at
 * least — `node:http` with a `/readyz` route, `ws` on the same server and better-sqlite3 in WAL
 * mode with one table. Usage: node dist/bench/floor-server.js <port> <database file>
 */
import { createServer } from 'node:http';
import Database from 'better-sqlite3';
import { WebSocketServer } from 'ws';

const port = Number(process.argv[2] ?? 0);
const file = process.argv[3] ?? ':memory:';
const db = new Database(file);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.exec('CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
const count = db.prepare('SELECT count(*) AS n FROM messages');

const server = createServer((request, response) => {
  if (request.url === '/readyz') {
    const body = JSON.stringify({ ready: true, rows: (count.get() as { n: number }).n });
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    response.end(body);
    return;
  }
  response.writeHead(404).end();
});
const sockets = new WebSocketServer({ server, path: '/ws' });
sockets.on('connection', (socket) => socket.on('message', (data) => socket.send(data)));
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => {
  sockets.close();
  server.close(() => {
    db.close();
    process.exit(0);
  });
});

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { type FakeModelServer, fakeModelConfig, type RecordedRequest, startFakeModelServer } from './fake-model-server.js';
import { makeHome, removeHome, startTestGateway, type TestGateway } from './gateway-harness.js';
import { createTestDatabase, type TestDatabase } from './pg-test-database.js';

/** How long the test cluster's leases last: a dead node's work moves this long after its last renewal. */
export const CLUSTER_LEASE_MS = 1500;

interface WireMessage {
  role: string;
  content: string | null;
}

/** The text of the last user message the model was asked. */
export const lastUserText = (request: RecordedRequest) => String((request.body as { messages: WireMessage[] }).messages.filter((message) => message.role === 'user').at(-1)?.content);
/** Every message of a model request but the system prompt, in order. */
export const conversationOf = (request: RecordedRequest) => (request.body as { messages: WireMessage[] }).messages.filter((message) => message.role !== 'system').map((message) => message.content);

export interface TestCluster {
  model: FakeModelServer;
  /** The database the nodes share. */
  url: string;
  homes: string[];
  /** The environment of node `index` (its node id and the database), for the CLI too. */
  nodeEnv(index: number): Record<string, string>;
  /** Starts (or restarts) node `index` on its own home with the shared database and workspaces. */
  startNode(index: number, extra?: Record<string, unknown>): Promise<TestGateway>;
  ask(node: TestGateway, user: string, content: string): Promise<string>;
  rows<T extends pg.QueryResultRow>(sql: string, values?: unknown[]): Promise<T[]>;
  stopAll(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Three homes for real gateway processes on one PostgreSQL database (the machine's server on
 * 127.0.0.1:5432), their workspaces/ folders linked to one shared folder as a shared mount would
 * be, and a model that echoes, except that a message with "hang" in it hangs the first time.
 */
export async function createTestCluster(name: string, options: { url?: string } = {}): Promise<TestCluster> {
  const hungOnce = new Set<string>();
  const model = await startFakeModelServer({
    defaultStep: (request: RecordedRequest) => {
      const text = lastUserText(request);
      if (text.includes('hang') && !hungOnce.has(text)) {
        hungOnce.add(text);
        return { hang: true };
      }
      return { text: `echo: ${text}` };
    },
  });
  // A database of its own on the machine's server, or the one given (a server of the test's own).
  const database: TestDatabase | null = options.url ? null : await createTestDatabase(name);
  const url = options.url ?? database!.url;
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  pool.on('error', () => {});
  const shared = mkdtempSync(join(tmpdir(), 'hearth-cluster-workspaces-'));
  const homes = [0, 1, 2].map(() => {
    const home = makeHome();
    symlinkSync(shared, join(home, 'workspaces'));
    return home;
  });
  const running = new Set<TestGateway>();
  const nodeEnv = (index: number) => ({ HEARTH_DATABASE_URL: url, HEARTH_NODE_ID: `node-${index}` });
  const stopAll = async () => {
    await Promise.all([...running].map((node) => node.stop()));
  };
  return {
    model,
    url,
    homes,
    nodeEnv,
    async startNode(index, extra = {}) {
      const node = await startTestGateway({
        home: homes[index]!,
        config: { ...fakeModelConfig(model), store: { kind: 'postgres' }, cluster: { leaseMs: CLUSTER_LEASE_MS }, ...extra },
        env: nodeEnv(index),
        // Three gateways starting at once on a loaded two-core machine.
        timeoutMs: 40_000,
      });
      running.add(node);
      void node.exited.then(() => running.delete(node));
      return node;
    },
    async ask(node, user, content) {
      const response = await fetch(`${node.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${node.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'hearth', user, messages: [{ role: 'user', content }] }),
      });
      const body = (await response.json()) as { choices?: { message: { content: string } }[]; error?: { message: string } };
      assert.equal(response.status, 200, JSON.stringify(body));
      return body.choices?.[0]?.message.content ?? '';
    },
    rows: async <T extends pg.QueryResultRow>(sql: string, values: unknown[] = []) => (await pool.query<T>(sql, values)).rows,
    stopAll,
    async close() {
      await Promise.all([...running].map((node) => node.kill()));
      await model.close();
      await pool.end().catch(() => {});
      await database?.drop();
      for (const home of homes) removeHome(home);
      rmSync(shared, { recursive: true, force: true });
    },
  };
}

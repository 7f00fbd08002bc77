import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An OpenAI-compatible `POST /v1/embeddings` on 127.0.0.1 with deterministic vectors: each word
 * of the input lands in a bucket chosen by its hash, and the words of a few related groups also
 * add to one shared dimension of their group, so texts about the same thing are close even when
 * they share no word ("beverage" near "tea"). Vectors are L2-normalised.
 */
export interface FakeEmbeddingsServer {
  /** `http://127.0.0.1:<port>/v1` */
  baseUrl: string;
  requests: { model: string; inputs: string[]; authorization: string | undefined }[];
  /** Answer every request with this HTTP status instead (null: answer normally). */
  failWith(status: number | null): void;
  close(): Promise<void>;
}

const GROUPS: string[][] = [
  ['tea', 'coffee', 'matcha', 'beverage', 'beverages', 'drink', 'drinks', 'espresso'],
  ['lisbon', 'city', 'lives', 'live', 'town', 'home', 'porto'],
  ['compiler', 'parser', 'code', 'program', 'programming'],
];

export function fakeEmbedding(text: string, dimensions: number): number[] {
  return createFakeEmbedder(dimensions)(text);
}

/**
 * `fakeEmbedding` with each word's dimensions remembered (up to 100,000 words), so many texts
 * over one vocabulary cost a lookup per word instead of a hash: the same vectors.
 */
export function createFakeEmbedder(dimensions: number): (text: string) => number[] {
  const known = new Map<string, number[]>();
  const dimensionsOf = (word: string): number[] => {
    let found = known.get(word);
    if (found) return found;
    const bucket = createHash('sha256').update(word).digest().readUInt32BE(0) % (dimensions - GROUPS.length);
    found = [GROUPS.length + bucket];
    GROUPS.forEach((group, index) => {
      if (group.includes(word)) found!.push(index);
    });
    if (known.size >= 100_000) known.clear();
    known.set(word, found);
    return found;
  };
  return (text) => {
    const vector = new Array<number>(dimensions).fill(0);
    for (const word of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
      const [bucket, ...groups] = dimensionsOf(word);
      vector[bucket!]! += 1;
      for (const group of groups) vector[group]! += 3;
    }
    let sum = 0;
    for (const value of vector) sum += value * value;
    const length = Math.sqrt(sum) || 1;
    return vector.map((value) => value / length);
  };
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

export async function startFakeEmbeddingsServer(options: { dimensions?: number } = {}): Promise<FakeEmbeddingsServer> {
  const dimensions = options.dimensions ?? 64;
  const embed = createFakeEmbedder(dimensions);
  const requests: FakeEmbeddingsServer['requests'] = [];
  let failure: number | null = null;
  const server = createServer((request, response) => {
    const send = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    if (request.method !== 'POST' || request.url !== '/v1/embeddings') return send(404, { error: { message: 'not found' } });
    readJson(request).then(
      (raw) => {
        const body = raw as { model?: string; input?: string | string[] };
        const inputs = typeof body.input === 'string' ? [body.input] : (body.input ?? []);
        requests.push({ model: body.model ?? '', inputs, authorization: request.headers.authorization });
        if (failure !== null) return send(failure, { error: { message: 'the embeddings service is failing on purpose' } });
        send(200, {
          object: 'list',
          model: body.model,
          data: inputs.map((input, index) => ({ object: 'embedding', index, embedding: embed(input) })),
          usage: { prompt_tokens: inputs.length, total_tokens: inputs.length },
        });
      },
      () => send(400, { error: { message: 'the body is not JSON' } }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    failWith(status) {
      failure = status;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

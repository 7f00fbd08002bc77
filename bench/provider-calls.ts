// CPU of one model call through the OpenAI-compatible adapter (request encoding, HTTP, SSE
// parsing) against the fake model server in its own process. Usage:
// node dist/bench/provider-calls.js [calls] [historyMessages]
import { fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { providerSchema } from '../src/config/schema.js';
import type { ChatMessage } from '../src/contracts/messages.js';
import { createOpenAIChatProvider } from '../src/providers/openai-chat-provider.js';

const calls = Number(process.argv[2] ?? 3000);
const historySize = Number(process.argv[3] ?? 100);
const here = dirname(fileURLToPath(import.meta.url));
const child = fork(join(here, 'fake-model-process.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
const baseUrl = await new Promise<string>((resolve) => child.once('message', (message: { openaiBaseUrl: string }) => resolve(message.openaiBaseUrl)));
const provider = createOpenAIChatProvider('fake', providerSchema().parse({ api: 'openai-chat', baseUrl }));
const history: ChatMessage[] = [];
for (let i = 0; i < historySize; i++) history.push(i % 2 === 0 ? { role: 'user', content: `question ${i}` } : { role: 'assistant', content: `echo: question ${i - 1}` });
history.push({ role: 'user', content: 'hi' });

async function call(): Promise<void> {
  for await (const event of provider.stream({ model: 'echo', system: 'You are a test.', messages: history, signal: new AbortController().signal })) {
    if (event.type === 'finish' && event.reason !== 'stop') throw new Error(`call ended with ${event.reason}`);
  }
}

try {
  for (let i = 0; i < 200; i++) await call();
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  for (let i = 0; i < calls; i++) await call();
  const cpu = process.cpuUsage(cpu0);
  console.log(`sequential: ${(((cpu.user + cpu.system) / calls) | 0)} µs CPU per call, ${((performance.now() - wall0) / calls).toFixed(3)} ms wall`);
  const cpu1 = process.cpuUsage();
  const wall1 = performance.now();
  await Promise.all(Array.from({ length: 16 }, async () => {
    for (let i = 0; i < calls / 16; i++) await call();
  }));
  const cpuB = process.cpuUsage(cpu1);
  console.log(`16 at once: ${(((cpuB.user + cpuB.system) / calls) | 0)} µs CPU per call, ${((performance.now() - wall1) / calls).toFixed(3)} ms wall`);
} finally {
  provider.close?.();
  child.kill();
}

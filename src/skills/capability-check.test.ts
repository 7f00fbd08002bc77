import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Capability, parseCapability } from './capabilities.js';
import { missingCapability } from './capability-check.js';

const tokens = (...written: string[]): Capability[] =>
  written.map((token) => {
    const parsed = parseCapability(token);
    assert.ok(parsed.ok, token);
    return parsed.capability;
  });

test('file tokens: ro allows reading and listing only, rw also writing and editing', () => {
  const ro = tokens('file:workspace:ro');
  assert.equal(missingCapability(ro, 'read', { path: 'a' }, { sandboxed: false }), null);
  assert.equal(missingCapability(ro, 'list', {}, { sandboxed: false }), null);
  assert.equal(missingCapability(ro, 'write', { path: 'a', content: '' }, { sandboxed: false }), 'file:workspace:rw');
  assert.equal(missingCapability(tokens('file:workspace:rw'), 'edit', {}, { sandboxed: false }), null);
  assert.equal(missingCapability([], 'read', {}, { sandboxed: false }), 'file:workspace:ro', 'nothing declared, nothing allowed');
  assert.equal(missingCapability([], 'current_time', {}, { sandboxed: false }), null);
});

test('exec tokens: a sandboxed allowlist covers its commands only under the sandbox; exec:host covers any', () => {
  const git = tokens('exec:sandboxed:allowlist:git status', 'exec:sandboxed:allowlist:ls *');
  assert.equal(missingCapability(git, 'exec', { command: 'git status' }, { sandboxed: true }), null);
  assert.equal(missingCapability(git, 'exec', { command: 'ls -la src' }, { sandboxed: true }), null);
  assert.equal(missingCapability(git, 'exec', { command: 'git push' }, { sandboxed: true }), 'exec:sandboxed:allowlist:git push');
  assert.equal(missingCapability(git, 'exec', { command: 'git status; rm -rf /' }, { sandboxed: true }), 'exec:host');
  assert.match(missingCapability(git, 'exec', { command: 'git status' }, { sandboxed: false }) ?? '', /^exec:host \(.*sandbox is "off"\)$/u);
  assert.equal(missingCapability(tokens('exec:host'), 'exec', { command: 'make deploy' }, { sandboxed: false }), null);
  assert.equal(missingCapability(git, 'process', { action: 'start', command: 'npm run dev' }, { sandboxed: true }), 'exec:sandboxed:allowlist:npm run dev');
  assert.equal(missingCapability(git, 'process', { action: 'poll', id: 'p1' }, { sandboxed: true }), null);
});

test('network, memory and MCP tokens name exactly what they allow', () => {
  const net = tokens('network:outbound:allowlist:api.example.com', 'network:outbound:allowlist:*.wttr.in');
  assert.equal(missingCapability(net, 'web_fetch', { url: 'https://api.example.com/v1' }, { sandboxed: false }), null);
  assert.equal(missingCapability(net, 'web_fetch', { url: 'https://de.wttr.in/Berlin' }, { sandboxed: false }), null);
  assert.equal(missingCapability(net, 'web_fetch', { url: 'https://evil.example.net/' }, { sandboxed: false }), 'network:outbound:allowlist:evil.example.net');
  assert.equal(missingCapability(tokens('memory:read'), 'memory_search', {}, { sandboxed: false }), null);
  assert.equal(missingCapability(tokens('memory:read'), 'memory_write', {}, { sandboxed: false }), 'memory:write');
  assert.equal(missingCapability(tokens('mcp:calendar'), 'calendar__list_events', {}, { sandboxed: false }), null);
  assert.equal(missingCapability(tokens('mcp:calendar'), 'mail__send', {}, { sandboxed: false }), 'mcp:mail');
});

test('tokens outside the vocabulary are refused with the valid forms', () => {
  const parsed = parseCapability('root:everything');
  assert.equal(parsed.ok, false);
  assert.match(!parsed.ok ? parsed.message : '', /"root:everything" is not a capability; use one of file:workspace:ro, .*mcp:<server>/u);
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Tool } from '../contracts/tool.js';
import { createBuiltinTools, createToolRegistry, isToolAllowed, refusingRule } from './tool-registry.js';

function fakeTool(name: string): Tool {
  return {
    spec: { name, description: name, parameters: { type: 'object', properties: {} } },
    sideEffects: false,
    execute: async () => ({ content: name }),
  };
}

describe('tool registry', () => {
  const registry = createToolRegistry(['read', 'write', 'fs_read', 'fs_write', 'web_fetch'].map(fakeTool));
  const names = (policy?: Parameters<typeof registry.specs>[0]) => registry.specs(policy).map((spec) => spec.name);

  it('takes the tools a source brings as they are now, under the same policy; a fixed tool wins a name', () => {
    let brought = ['files__read_file', 'read'].map(fakeTool);
    const withSource = createToolRegistry([fakeTool('read')], { sources: [() => brought] });
    assert.deepEqual(withSource.specs().map((spec) => spec.name), ['read', 'files__read_file']);
    assert.equal(withSource.get('read')?.spec.description, 'read');
    assert.equal(withSource.isAllowed('files__read_file', { profile: 'coding' }), false, 'MCP tools are not in the coding profile');
    assert.equal(withSource.isAllowed('files__read_file', { allow: ['group:mcp'] }), true);
    assert.deepEqual(withSource.specs({ profile: 'full', deny: ['group:mcp'] }).map((spec) => spec.name), ['read']);
    brought = [];
    assert.equal(withSource.get('files__read_file'), undefined, 'a tool its source no longer brings is gone');
  });

  it('gets tools by name', () => {
    assert.equal(registry.get('read')?.spec.name, 'read');
    assert.equal(registry.get('missing'), undefined);
  });

  it('allows everything without a policy or without allow', () => {
    assert.deepEqual(names(), ['read', 'write', 'fs_read', 'fs_write', 'web_fetch']);
    assert.deepEqual(names({ deny: ['write'] }), ['read', 'fs_read', 'fs_write', 'web_fetch']);
  });

  it('applies allow lists with exact names, * and prefixes', () => {
    assert.deepEqual(names({ allow: ['read', 'web_fetch'] }), ['read', 'web_fetch']);
    assert.deepEqual(names({ allow: ['fs_*'] }), ['fs_read', 'fs_write']);
    assert.deepEqual(names({ allow: ['*'] }), ['read', 'write', 'fs_read', 'fs_write', 'web_fetch']);
    assert.deepEqual(names({ allow: [] }), []);
  });

  it('lets deny win over allow', () => {
    assert.deepEqual(names({ allow: ['*'], deny: ['fs_*'] }), ['read', 'write', 'web_fetch']);
    assert.deepEqual(names({ allow: ['read'], deny: ['*'] }), []);
    assert.equal(registry.isAllowed('fs_write', { allow: ['fs_*'], deny: ['fs_write'] }), false);
    assert.equal(registry.isAllowed('fs_read', { allow: ['fs_*'], deny: ['fs_write'] }), true);
  });

  it('says unknown tools are not allowed, while the pure check looks at the policy only', () => {
    assert.equal(registry.isAllowed('nope', {}), false);
    assert.equal(isToolAllowed('nope', { allow: ['n*'] }), true);
    assert.equal(isToolAllowed('read', { allow: ['re'] }), false);
  });

  it('applies profiles and groups: web and MCP tools only with "full" or an explicit allow', () => {
    const all = ['current_time', 'read', 'write', 'edit', 'list', 'exec', 'process', 'memory_search', 'memory_get', 'memory_write', 'web_fetch', 'cal__list_events'];
    const allowed = (policy: Parameters<typeof isToolAllowed>[1]) => all.filter((name) => isToolAllowed(name, policy));
    assert.deepEqual(allowed({ profile: 'coding' }), ['current_time', 'read', 'write', 'edit', 'list', 'exec', 'process', 'memory_search', 'memory_get', 'memory_write']);
    assert.deepEqual(allowed({ profile: 'minimal' }), ['current_time', 'read', 'list', 'memory_search', 'memory_get']);
    assert.deepEqual(allowed({ profile: 'messaging' }), ['current_time', 'memory_search', 'memory_get', 'memory_write']);
    assert.deepEqual(allowed({ profile: 'full' }), all);
    assert.deepEqual(allowed({ profile: 'full', deny: ['group:runtime', 'group:mcp'] }), ['current_time', 'read', 'write', 'edit', 'list', 'memory_search', 'memory_get', 'memory_write', 'web_fetch']);
    assert.deepEqual(allowed({ profile: 'minimal', allow: ['group:fs', 'group:web'] }), ['read', 'write', 'edit', 'list', 'web_fetch'], 'allow replaces the profile');
    assert.deepEqual(allowed({ allow: ['group:nope'] }), [], 'an unknown group matches nothing (the config refuses it)');
  });

  it('names the setting that takes a tool away', () => {
    const withheld = { exec: 'tools.exec.security' };
    assert.equal(refusingRule('exec', { profile: 'coding', withheld }), 'tools.exec.security');
    assert.equal(refusingRule('web_fetch', { profile: 'coding', withheld }), 'tools.profile');
    assert.equal(refusingRule('write', { profile: 'coding', deny: ['group:fs'] }), 'tools.deny');
    assert.equal(refusingRule('write', { allow: ['read'] }), 'tools.allow');
    assert.equal(refusingRule('read', { allow: ['read'], withheld }), null);
    assert.equal(refusingRule('constructor', { withheld }), null, 'only the names given are withheld');
  });

  it('rejects duplicate and invalid names', () => {
    assert.throws(() => createToolRegistry([fakeTool('a'), fakeTool('a')]), { code: 'INTERNAL' });
    assert.throws(() => createToolRegistry([fakeTool('has space')]), { code: 'INTERNAL' });
  });

  it('builds the five built-in tools, with side effects only for write and edit', () => {
    const builtins = createToolRegistry(createBuiltinTools());
    assert.deepEqual(
      builtins.specs().map((spec) => [spec.name, builtins.get(spec.name)?.sideEffects]),
      [
        ['read', false],
        ['write', true],
        ['edit', true],
        ['list', false],
        ['current_time', false],
      ],
    );
    for (const spec of builtins.specs()) assert.equal(spec.parameters['type'], 'object');
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ToolContext } from '../contracts/tool.js';
import { createCurrentTimeTool } from './current-time-tool.js';

const context: ToolContext = {
  workspaceDir: '/nonexistent',
  agentId: 'main',
  sessionKey: 'agent:main:main',
  runId: 'run-1',
  signal: new AbortController().signal,
  now: () => new Date('2024-07-01T12:34:56.000Z'),
};

describe('current_time tool', () => {
  const tool = createCurrentTimeTool();

  it('gives the ISO time and the local time in a zone from the injected clock', async () => {
    const berlin = await tool.execute({ timezone: 'Europe/Berlin' }, context);
    assert.deepEqual(berlin, {
      content: 'UTC: 2024-07-01T12:34:56.000Z\nLocal time in Europe/Berlin: 2024-07-01 14:34:56 (Monday, GMT+02:00)',
    });
    const newYork = await tool.execute({ timezone: 'America/New_York' }, context);
    assert.match(newYork.content, /Local time in America\/New_York: 2024-07-01 08:34:56 \(Monday, GMT-04:00\)/);
  });

  it('works without a zone', async () => {
    const result = await tool.execute({}, context);
    assert.equal(result.isError, undefined);
    assert.match(result.content, /^UTC: 2024-07-01T12:34:56\.000Z\nLocal time in /);
  });

  it('returns isError for an unknown zone or a bad argument', async () => {
    const unknown = await tool.execute({ timezone: 'Mars/Olympus_Mons' }, context);
    assert.equal(unknown.isError, true);
    assert.match(unknown.content, /Unknown time zone "Mars\/Olympus_Mons"/);
    const wrongType = await tool.execute({ timezone: 5 }, context);
    assert.equal(wrongType.isError, true);
    assert.match(wrongType.content, /- timezone: /);
  });
});

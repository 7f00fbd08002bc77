import { z } from 'zod';
import { HearthError } from '../../contracts/errors.js';
import { skillSummary } from '../../skills/skill-catalog.js';
import type { GatewayContext } from '../gateway-context.js';
import { defineMethod, type RpcMethod } from './rpc-types.js';

const agentParams = z.strictObject({ agentId: z.string().min(1).max(64).optional() }).optional();

function agentOf(context: GatewayContext, agentId: string | undefined) {
  const directory = context.agents();
  const agent = directory.get(agentId ?? directory.defaultAgentId);
  if (!agent) throw new HearthError('NOT_FOUND', `There is no agent "${agentId}". Agents: ${directory.list().map((item) => item.id).join(', ')}.`);
  return agent;
}

/** Skills (docs/skills.md), as `hearth skills list` and `hearth skills audit` show them. */
export const skillMethods: Record<string, RpcMethod> = {
  'skills.list': defineMethod(
    {
      description: 'An agent\'s skills (default: the default agent), in precedence order: where each comes from, who signed it, its capabilities, whether the agent can use it and why not, and why it is disabled if it changed after install.',
      returns: '{agentId, skills:[{name, description, source, dir, signedBy, version, capabilities, eligible, ineligible, disabled}]}',
    },
    agentParams,
    async (params, _connection, context) => {
      const agent = agentOf(context, params?.agentId);
      return { agentId: agent.id, skills: (await context.skills.list(agent)).map(skillSummary) };
    },
  ),
  'skills.audit': defineMethod(
    {
      description: 'The risk report of one of an agent\'s skills, as hearth skills audit prints it: each finding with its file and line, and whether what it needs is declared.',
      returns: '{skill, declared, findings:[{level, file, line, message, needs?, declared?}], risk, filesScanned}',
    },
    z.strictObject({ name: z.string().min(1).max(64), agentId: z.string().min(1).max(64).optional() }),
    async (params, _connection, context) => {
      const agent = agentOf(context, params.agentId);
      const entry = (await context.skills.list(agent)).find((item) => item.name === params.name);
      if (!entry) throw new HearthError('NOT_FOUND', `Agent "${agent.id}" has no skill "${params.name}" (skills.list shows them).`);
      const { auditSkill } = await import('../../skills/skill-audit.js');
      return auditSkill(entry.dir);
    },
  ),
};

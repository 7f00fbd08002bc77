import { z } from 'zod';
import type { Tool } from '../contracts/tool.js';
import { defineTool, errorResult } from '../tools/define-tool.js';
import { instructionsOf, type SkillAgent, type SkillCatalog } from './skill-catalog.js';

const schema = z.strictObject({ name: z.string().min(1).max(64) });

/**
 * `skill {name}`: loads a skill's instructions (verified again first). From then on in the turn,
 * the skill's capability tokens bound every tool call (agent-loop.ts).
 */
export function createSkillTool(catalog: SkillCatalog, agentOf: (agentId: string) => SkillAgent | undefined): Tool {
  return defineTool<z.infer<typeof schema>>({
    spec: {
      name: 'skill',
      description: 'Load a skill by name: returns its instructions, which you then follow. The skills you can use are listed in your instructions.',
      parameters: { type: 'object', properties: { name: { type: 'string', description: 'The skill\'s name, as listed.' } }, required: ['name'] },
    },
    sideEffects: false,
    schema,
    usage: 'skill {name: string}',
    async run(args, context) {
      const agent = agentOf(context.agentId);
      if (!agent) return errorResult(`Agent "${context.agentId}" is not configured.`);
      const loaded = await catalog.load(agent, args.name);
      if (!loaded.ok) return errorResult(loaded.message);
      const { entry } = loaded;
      const tokens = entry.document.capabilities ?? [];
      const limits = tokens.length > 0 ? `While it is loaded you may use only what it declares: ${tokens.join(', ')}.` : 'It declares no capabilities: while it is loaded, no tool but skill and current_time will run.';
      return {
        content: `Skill "${entry.name}" (from ${entry.dir}). ${limits}\n\n${instructionsOf(entry)}`,
        details: { skill: { name: entry.name, capabilities: tokens, source: entry.source, signedBy: entry.signed?.keyName ?? null } },
      };
    },
  });
}

import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { createSkillCatalog, type SkillCatalog, skillsPrompt } from '../skills/skill-catalog.js';
import { createSkillTool } from '../skills/skill-tool.js';
import { createAgentLoop } from '../agent/agent-loop.js';
import type { StructuredLoop, createStructuredLoop } from '../agent/structured/structured-loop.js';
import type { ApprovalService } from '../approvals/approval-service.js';
import type { Plugins } from '../plugins/plugins-subsystem.js';
import type { AlertSink } from '../automation/alerts.js';
import { type Budgets, createBudgets } from '../automation/budgets.js';
import type { DailyBudget } from '../contracts/automation.js';
import type { Store } from '../contracts/store.js';
import type { Tool } from '../contracts/tool.js';
import type { Tracer } from '../contracts/tracing.js';
import type { GatewayMetrics } from '../observability/metrics-subsystem.js';
import type { Models } from '../providers/models-subsystem.js';
import type { GatewayBase } from '../runtime/gateway-base.js';
import { createIdleCompactor, limitHeapGrowth } from '../runtime/idle-compactor.js';
import { defineSubsystem } from '../runtime/subsystem.js';
import type { ExecPolicy } from '../tools/exec-policy.js';
import { createExecTool } from '../tools/exec-tool.js';
import { createProcessTable } from '../tools/process-table.js';
import { createProcessTool } from '../tools/process-tool.js';
import { createWebFetchTool } from '../tools/web-fetch-tool.js';
import { createBuiltinTools, createToolRegistry, type ToolRegistry } from '../tools/tool-registry.js';
import { createSessionLanes, effectiveProviderShare, type SessionLanes } from './session-lanes.js';
import { createSessionCompactor } from './compaction.js';
import { createTurnService, type TurnService } from './turn-service.js';
import type { Cluster } from '../cluster/cluster-subsystem.js';
import { joinTurnsToCluster } from '../cluster/cluster-turns.js';

export interface Turns {
  service: TurnService;
  lanes: SessionLanes;
  tools: ToolRegistry;
  budgets: Budgets;
  /** The agents' skills (docs/skills.md): listed and verified as the agent loop sees them. */
  skills: SkillCatalog;
  /** A later subsystem names the daily budget of its scope (`cron:<jobId>`). */
  attachBudgetScope(prefix: string, limitOf: (id: string) => DailyBudget | undefined): void;
}

interface TurnsDeps extends Pick<GatewayBase, 'config' | 'logger' | 'paths'> {
  store: Store;
  models: Models;
  alerts: Pick<AlertSink, 'raise'>;
  metrics: Pick<GatewayMetrics, 'onTurnEvent' | 'attach'>;
  /** Exec approvals: where commands wait for the operator, and the commands allowed for good. */
  approvals?: Pick<ApprovalService, 'ask' | 'allowedCommands'>;
  /** Tools of other subsystems (memory) offered to the agents beside the built-in ones. */
  extraTools?: readonly Tool[];
  /** Plugins' hooks: around every tool call, and on every reply. */
  plugins?: Pick<Plugins, 'loaded' | 'toolHooks' | 'messageSending'>;
  /** Tools that come and go while the gateway runs (each MCP server's), read at every turn. */
  toolSources?: readonly (() => readonly Tool[])[];
  /** Where each turn's trace goes (the tracing subsystem). */
  tracer?: Tracer;
  /** Cluster mode: lanes held by one node at a time, turn events shared with the other nodes. */
  cluster?: Cluster;
}

/** Budgets per agent (`agent:<id>`) and per attached scope, read from the config in force. */
function createGatewayBudgets({ store, config, logger, models, alerts }: TurnsDeps) {
  const scopes = new Map<string, (id: string) => DailyBudget | undefined>();
  scopes.set('agent:', (id) => models.agents().get(id)?.budget);
  const budgets = createBudgets({
    store,
    now: Date.now,
    pricing: () => config.current().models.pricing,
    limitOf: (scope) => {
      for (const [prefix, limitOf] of scopes) if (scope.startsWith(prefix)) return limitOf(scope.slice(prefix.length));
      return undefined;
    },
    alerts,
    targets: () => config.current().alerts,
    logger,
  });
  return { budgets, scopes };
}

/**
 * Sessions and turns: the lanes (one turn at a time per session, a global cap), the agent loop
 * with the built-in tools, budgets, and the turn service. Starting it re-queues the turns an
 * earlier run left unfinished (once models are known); draining it lets running turns finish for
 * `gateway.drainTimeoutMs` and checkpoints the rest.
 */
export const turnsSubsystem = defineSubsystem({
  name: 'turns',
  async start(deps: TurnsDeps) {
    const { store, config, logger, models, metrics } = deps;
    const lanes = createSessionLanes({ maxConcurrent: config.current().agents.defaults.maxConcurrent });
    // Each provider gets a share of the slots once the agents use more than one (on a reload the models are rebuilt first).
    const applyLimits = () => {
      const defaults = config.current().agents.defaults;
      lanes.setMaxConcurrent(defaults.maxConcurrent, effectiveProviderShare(models.agents().list().map((agent) => agent.modelRefs[0]), defaults.providerShare));
    };
    applyLimits();
    const execPolicy = (agentId: string): ExecPolicy => {
      const policy = models.agents().get(agentId)?.exec ?? { security: 'deny', allow: [], timeoutMs: 60_000, sandbox: 'off', network: false, ask: 'off', askTimeoutMs: 600_000 };
      // Commands the operator allowed for good ("allow always") join the configured patterns.
      const approved = deps.approvals?.allowedCommands(agentId) ?? [];
      return approved.length === 0 ? policy : { ...policy, allow: [...policy.allow, ...approved] };
    };
    // A sandboxed command sees neither the user's home nor Hearth's state (config, keys, store); its workspace is bound back.
    const sandbox = { hide: [...new Set([homedir(), deps.paths.home, deps.paths.stateDir, deps.paths.credentialsDir, dirname(deps.paths.configPath)])] };
    // Background commands of the process tool: killed with their session's reset and at the gateway's stop.
    const processes = createProcessTable();
    // Skills (docs/skills.md): found per agent, installed ones verified against their signatures.
    const skillCatalog = createSkillCatalog({ installedDir: join(deps.paths.home, 'skills'), settings: () => config.current().skills });
    for (const failed of (await skillCatalog.verifyInstalled()).filter((result) => !result.ok)) {
      logger.warn({ skill: failed.name, dir: failed.dir, problems: failed.problems.map((problem) => problem.message) }, `installed skill "${failed.name}" is disabled: it failed verification (hearth skills verify)`);
    }
    const tools = createToolRegistry([
      createSkillTool(skillCatalog, (agentId) => models.agents().get(agentId)),
      ...createBuiltinTools(),
      createExecTool(execPolicy, sandbox),
      createProcessTool(processes, execPolicy, sandbox),
      createWebFetchTool((agentId) => models.agents().get(agentId)?.web?.allowHosts ?? []),
      ...(deps.extraTools ?? []),
    ], { sources: deps.toolSources ?? [] });
    const { budgets, scopes } = createGatewayBudgets(deps);
    const runTurn = createAgentLoop({
      models: models.router,
      tools,
      skills: skillCatalog,
      ...(deps.approvals ? { approvals: deps.approvals } : {}),
      // Without plugins, tool calls and replies skip the hooks entirely.
      ...(deps.plugins?.loaded ? { toolHooks: deps.plugins.toolHooks } : {}),
    });
    const service = createTurnService({
      store,
      lanes,
      runTurn,
      runStructuredTurn: structuredOnFirstTurn({ runTurn, tools, store, sideEffectTools: () => tools.sideEffectNames() }),
      compactor: createSessionCompactor({ store, models: models.router, runTurn, tools, logger }),
      workspaceContext: models.workspaceContext,
      skillsPrompt: async (profile) => skillsPrompt(await skillCatalog.list(profile)),
      ...(deps.plugins?.loaded ? { messageSending: deps.plugins.messageSending } : {}),
      agents: models.agents,
      maxTurnAttempts: () => config.current().agents.defaults.maxTurnAttempts,
      // In a cluster a session's next turn may run on another node: each turn reads its history from the store.
      historyCacheBytes: deps.cluster?.enabled ? 0 : Math.round(config.current().session.historyCacheMb * 1024 * 1024),
      logger,
      budgets,
      ...(deps.tracer ? { tracer: deps.tracer } : {}),
      sideEffectTools: () => tools.sideEffectNames(),
      ...(deps.cluster?.enabled ? { ownership: deps.cluster.lanes } : {}),
      onSessionReset: (sessionKey) => {
        processes.killSession(sessionKey).catch((error: unknown) => logger.warn({ sessionKey, err: error }, 'the background processes of a reset session could not all be killed'));
      },
    });
    const unsubscribeMetrics = service.subscribe(metrics.onTurnEvent, { localOnly: true });
    metrics.attach({ historyCache: () => service.historyCacheStats() });
    const compactor = createIdleCompactor({ release: () => service.releaseHistory() });
    // Set at the first turn, not at start: a V8 flag changed before the gateway is ready would
    // make the code cache bin/hearth.js saves then unusable by the next start.
    let heapLimited = false;
    const unsubscribeCompactor = service.subscribe(
      (event) => {
        if (event.type !== 'final') return;
        if (!heapLimited) limitHeapGrowth();
        heapLimited = true;
        compactor.noteTurn();
      },
      { localOnly: true },
    );
    const unsubscribeConfig = config.onReload(applyLimits);

    await models.detected;
    applyLimits();
    await service.recover();
    const leaveCluster = deps.cluster?.enabled ? joinTurnsToCluster(service, deps.cluster) : () => {};

    const turns: Turns = {
      service,
      lanes,
      tools,
      budgets,
      skills: skillCatalog,
      attachBudgetScope: (prefix, limitOf) => scopes.set(prefix, limitOf),
    };
    return {
      api: turns,
      async drain() {
        unsubscribeConfig();
        leaveCluster();
        const { checkpointed } = await service.drain(config.current().gateway.drainTimeoutMs);
        if (checkpointed > 0) logger.warn({ checkpointed }, 'turns still running were checkpointed and will run again at the next start');
      },
      async stop() {
        unsubscribeMetrics();
        unsubscribeCompactor();
        compactor.stop();
        await processes.stopAll();
      },
    };
  },
});

/** The structured loop, and its plan schemas, load with the first structured turn. */
function structuredOnFirstTurn(deps: Parameters<typeof createStructuredLoop>[0]): StructuredLoop {
  const state: { loop?: Promise<StructuredLoop> } = {};
  return async (input) => {
    state.loop ??= import('../agent/structured/structured-loop.js').then((module) => module.createStructuredLoop(deps));
    return (await state.loop)(input);
  };
}

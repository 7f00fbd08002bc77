import type { Plugins } from '../plugins/plugins-subsystem.js';
import type { SkillCatalog } from '../skills/skill-catalog.js';
import type { ChannelPlatform } from '../config/channel-schema.js';
import type { ApprovalService } from '../approvals/approval-service.js';
import type { AgentDirectory } from '../agent/agent-directory.js';
import type { AlertSink } from '../automation/alerts.js';
import type { Budgets } from '../automation/budgets.js';
import type { CronScheduler } from '../automation/cron-scheduler.js';
import type { ChannelHealth } from '../channels/channel-health.js';
import type { ChannelManager } from '../channels/channel-manager.js';
import type { ConfigEditor } from '../config/config-editor.js';
import type { HearthConfig } from '../config/schema.js';
import type { Store } from '../contracts/store.js';
import type { MemoryHealthReport } from '../memory/memory-health.js';
import type { MemoryService } from '../memory/memory-service.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { TurnService } from '../sessions/turn-service.js';

export interface ComponentHealth {
  status: 'ok' | 'degraded' | 'down' | 'starting';
  detail?: string;
}

/** What the control plane needs from the rest of the gateway. Built in main.ts. */
export interface GatewayContext {
  version: string;
  startedAt: number;
  logger: Logger;
  /** The gateway's JSON log file, read by `logs.tail`. */
  logFile: string;
  store: Store;
  turns: TurnService;
  metrics: Pick<Metrics, 'render' | 'contentType'>;
  channels: Pick<ChannelManager, 'status' | 'listPairing' | 'approvePairing' | 'send' | 'checkWebhook' | 'verifyWebhook' | 'webhook'>;
  cron: CronScheduler;
  alerts: Pick<AlertSink, 'list'>;
  budgets: Pick<Budgets, 'today'>;
  /** Per-account transport, application and functional health (`channels.health.*`). */
  channelHealth: Pick<ChannelHealth, 'list' | 'get' | 'probe'>;
  /** Re-reads channel config and saved credentials; restarts only accounts that changed. */
  reloadChannels(): Promise<{ started: string[]; restarted: string[]; stopped: string[] }>;
  /** Saved channel logins (credentials/channels/), as `hearth channels login|logout` write them. */
  channelLogins: {
    save(platform: ChannelPlatform, accountId: string, values: Record<string, string>): string;
    remove(platform: ChannelPlatform, accountId: string): boolean;
  };
  agents(): AgentDirectory;
  /** Each agent's memory: status, search, re-index (`memory.*`). */
  memory: Pick<MemoryService, 'status' | 'index' | 'port' | 'audit' | 'contract'>;
  /** Each open agent memory's health, and when the periodic check last ran (`memory.status`, `status`). */
  memoryHealth(): MemoryHealthReport;
  /** Exec approvals waiting for the operator (`approvals.*`, the `approval` event). */
  approvals: Pick<ApprovalService, 'list' | 'decide' | 'subscribe'>;
  /** Plugins and their health (`plugins.list`). */
  plugins: Pick<Plugins, 'status' | 'handleRoute'>;
  config(): HearthConfig;
  /** The config file for `config.get|validate|apply`: shown with secrets masked, replaced atomically and put in force. */
  configFile: ConfigEditor;
  token(): string;
  /** Configured credentials (provider keys, channel tokens), redacted from anything shown. */
  secrets(): readonly string[];
  /** Component readiness for /readyz and `health`. */
  components(): Record<string, ComponentHealth>;
  /** The agents' skills, as the agent loop sees them (`skills.list`, `skills.audit`). */
  skills: SkillCatalog;
  /** The full report for `status` and `hearth status`. */
  status(): Promise<Record<string, unknown>>;
}

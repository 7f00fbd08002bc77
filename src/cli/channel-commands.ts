// The chat platform commands: `hearth channels …`, `hearth pairing …` and `hearth message send`.
// This file only defines them for the command-line parser; what each one does lives in
// channels-command.ts, which is loaded only when one of them runs.
import type * as CommanderModule from 'commander';
import { BUILTIN_PLATFORMS } from '../contracts/channel.js';
import type { CliRuntime } from './cli-context.js';

type Command = CommanderModule.Command;

/** `hearth channels …` and `hearth pairing …` */
export function addChannelCommands(program: Command, runtime: CliRuntime): void {
  const channels = program.command('channels').description('see and manage chat platform accounts');
  addChannelsStatusCommand(channels, runtime);
  addChannelsHealthCommand(channels, runtime);
  addChannelsLoginCommands(channels, runtime);

  const pairing = program.command('pairing').description('approve people who asked to talk to your bots');
  addPairingRequestCommands(pairing, runtime);
  addPairingApprovedCommands(pairing, runtime);
}

/** `hearth channels status` */
function addChannelsStatusCommand(channels: Command, runtime: CliRuntime): void {
  channels
    .command('status')
    .summary('per account: connection, authentication, last traffic, errors and what to do')
    .description('per account: state, connection, authentication, last inbound and outbound traffic, last error, what to do, reconnects and outbox (waiting / given up); exits 1 when an account is unhealthy')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const { channelsStatus } = await import('./channels-command.js');
      await channelsStatus(runtime, options);
    });
}

/** `hearth channels health` */
function addChannelsHealthCommand(channels: Command, runtime: CliRuntime): void {
  channels
    .command('health')
    .summary('per account: transport, application and functional health, self-recovery and alerts')
    .description('per account: transport, application and functional health with since when, detail and what to do, self-recovery attempts and alerts; exits 1 when an account is degraded or down')
    .option('--channel <channel>', `only this platform (${BUILTIN_PLATFORMS.join(', ')}, or a plugin's channel)`)
    .option('--account <id>', 'only this account (default: default, with --channel)')
    .option('--probe', 'check now, probing each account, instead of showing the last check')
    .option('--json', 'print JSON')
    .action(async (options: { channel?: string; account?: string; probe?: boolean; json?: boolean }) => {
      const { channelsHealth } = await import('./channels-command.js');
      await channelsHealth(runtime, options);
    });
}

/** `hearth channels login` and `hearth channels logout` */
function addChannelsLoginCommands(channels: Command, runtime: CliRuntime): void {
  channels
    .command('login')
    .description('save an account\'s token(s), read from standard input, and start it (Signal has none: prints how to link signal-cli instead)')
    .requiredOption('--channel <channel>', BUILTIN_PLATFORMS.join(', '))
    .option('--account <id>', 'account id (default: default)')
    .option('--json', 'print JSON')
    .action(async (options: { channel: string; account?: string; json?: boolean }) => {
      const { channelsLogin } = await import('./channels-command.js');
      await channelsLogin(runtime, options);
    });
  channels
    .command('logout')
    .description('forget an account\'s saved token(s) and stop it')
    .requiredOption('--channel <channel>', BUILTIN_PLATFORMS.join(', '))
    .option('--account <id>', 'account id (default: default)')
    .option('--json', 'print JSON')
    .action(async (options: { channel: string; account?: string; json?: boolean }) => {
      const { channelsLogout } = await import('./channels-command.js');
      await channelsLogout(runtime, options);
    });
}

/** `hearth pairing list`, `approve` and `deny`: the requests waiting for an answer. */
function addPairingRequestCommands(pairing: Command, runtime: CliRuntime): void {
  pairing
    .command('list')
    .description('pending pairing requests: code, account, who asked, expiry (codes expire after an hour)')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const { pairingList } = await import('./channels-command.js');
      await pairingList(runtime, options);
    });
  pairing
    .command('approve')
    .description('approve the sender (kept across restarts) and tell them so')
    .argument('<code>', 'the 8-character code the person received')
    .option('--json', 'print JSON')
    .action(async (code: string, options: { json?: boolean }) => {
      const { pairingApprove } = await import('./channels-command.js');
      await pairingApprove(runtime, code, options);
    });
  pairing
    .command('deny')
    .description('refuse a pending request: it is removed and the sender is not let in')
    .argument('<code>', 'the 8-character code the person received')
    .option('--json', 'print JSON')
    .action(async (code: string, options: { json?: boolean }) => {
      const { pairingDeny } = await import('./channels-command.js');
      await pairingDeny(runtime, code, options);
    });
}

/** `hearth pairing approved` and `hearth pairing revoke`: the people already let in. */
function addPairingApprovedCommands(pairing: Command, runtime: CliRuntime): void {
  pairing
    .command('approved')
    .description('the people let in through pairing: account, who, since when')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const { pairingApproved } = await import('./channels-command.js');
      await pairingApproved(runtime, options);
    });
  pairing
    .command('revoke')
    .description('take an approval back: the sender must pair again')
    .requiredOption('--channel <channel>', 'the platform, e.g. telegram')
    .option('--account <id>', 'account id (default: default)')
    .requiredOption('--sender <id>', 'the sender id, as hearth pairing approved shows it')
    .option('--json', 'print JSON')
    .action(async (options: { channel: string; account?: string; sender: string; json?: boolean }) => {
      const { pairingRevoke } = await import('./channels-command.js');
      await pairingRevoke(runtime, options);
    });
}

/** `hearth message send` */
export function addMessageCommand(program: Command, runtime: CliRuntime): void {
  const message = program.command('message').description('send messages through a channel');
  message
    .command('send')
    .summary('send a message to a peer (chat id) through a channel account, and wait for delivery')
    .description('send a message to a peer (chat id) through a channel account\'s outbox, and wait for delivery; exits 1 when it is not delivered in time (it stays queued) or was refused')
    .requiredOption('--channel <channel>', `${BUILTIN_PLATFORMS.join(', ')}, or a plugin's channel`)
    .option('--account <id>', 'account id (default: default)')
    .requiredOption('--to <peer>', 'chat, channel or user id on the platform')
    .option('--thread <id>', 'thread or topic id')
    .option('--timeout <seconds>', 'how long to wait for delivery', '30')
    .option('--json', 'print JSON')
    .argument('<text...>', 'the message (Markdown)')
    .action(async (words: string[], options: { channel: string; account?: string; to: string; thread?: string; timeout: string; json?: boolean }) => {
      const { messageSend } = await import('./channels-command.js');
      await messageSend(runtime, words.join(' '), options);
    });
}

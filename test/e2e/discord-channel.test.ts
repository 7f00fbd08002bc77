import { runChannelContract } from './channel-contract.js';
import { createDiscordHarness } from '../support/platforms/discord-harness.js';

runChannelContract('discord', createDiscordHarness);

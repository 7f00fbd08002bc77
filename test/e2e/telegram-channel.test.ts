import { runChannelContract } from './channel-contract.js';
import { createTelegramHarness } from '../support/platforms/telegram-harness.js';

runChannelContract('telegram', createTelegramHarness);

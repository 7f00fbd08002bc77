import { runChannelContract } from './channel-contract.js';
import { createFeishuHarness } from '../support/platforms/feishu-harness.js';

runChannelContract('feishu', createFeishuHarness);

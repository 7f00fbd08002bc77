import { runChannelContract } from './channel-contract.js';
import { createSlackHarness } from '../support/platforms/slack-harness.js';

runChannelContract('slack', createSlackHarness);

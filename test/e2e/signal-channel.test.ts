import { runChannelContract } from './channel-contract.js';
import { createSignalHarness } from '../support/platforms/signal-harness.js';

runChannelContract('signal', () => createSignalHarness());

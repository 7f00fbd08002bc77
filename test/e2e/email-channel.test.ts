import { runChannelContract } from './channel-contract.js';
import { createEmailHarness } from '../support/platforms/email-harness.js';

runChannelContract('email', () => createEmailHarness());

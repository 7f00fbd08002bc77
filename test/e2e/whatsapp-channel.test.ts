import { runChannelContract } from './channel-contract.js';
import { createWhatsAppHarness } from '../support/platforms/whatsapp-harness.js';

runChannelContract('whatsapp', createWhatsAppHarness);

import { runChannelContract } from './channel-contract.js';
import { createMatrixHarness } from '../support/platforms/matrix-harness.js';

runChannelContract('matrix', createMatrixHarness);

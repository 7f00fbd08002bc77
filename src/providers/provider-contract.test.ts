import { PROVIDER_KINDS, providerContract } from '../../test/support/provider-contract.js';

// The same contract for every `api` kind Hearth accepts, each against the fake server speaking its wire format.
for (const kind of PROVIDER_KINDS) providerContract(kind);

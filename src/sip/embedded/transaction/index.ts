export * from './types.js';
export * from './make-response.js';
export * from './transaction-key.js';
export * from './invite-server-transaction.js';
export * from './non-invite-server-transaction.js';
export * from './non-invite-client-transaction.js';
export * from './uas-2xx-retransmitter.js';
export * from './transaction-layer.js';

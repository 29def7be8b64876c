export * from './types.js';
export * from './via.js';
export * from './error-response.js';
export * from './udp-transport.js';
export * from './stream-transport.js';
export * from './tcp-transport.js';
export * from './tls-transport.js';
export * from './transport-layer.js';

// The protocol layer's public surface: numbers, primitives, values and per-message codecs.
export * from './commands.js';
export * from './codec.js';
export * from './header.js';
export * from './values.js';
export * as legacy from './messages/legacy.js';
export * as data from './messages/data.js';
export * as node from './messages/node.js';

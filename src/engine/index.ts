export * from './errors.js';
export * from './options.js';
export * from './command.js';
export * from './transport.js';
export * from './files.js';
export * from './runner.js';
export * from './bytes.js';
export * from './lock.js';

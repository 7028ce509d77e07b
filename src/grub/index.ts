export * from './version.js';
export * from './pygrub-model.js';
export * from './config.js';
export * from './kernel.js';
export * from './catalogue.js';
export * from './diagnose.js';
export * from './rewrite.js';
export * from './pvgrub.js';

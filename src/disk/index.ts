export * from './crc32.js';
export * from './source.js';
export * from './partitions.js';
export * from './fstype.js';
export * from './guestfs.js';
export * from './run.js';
export * from './inuse.js';
export * from './build.js';

export * from './build.js';
export * from './cache.js';
export * from './initramfs.js';
export * from './lab.js';
export * from './packages.js';
export * from './qemu.js';
export * from './ssh.js';
export * from './guest.js';

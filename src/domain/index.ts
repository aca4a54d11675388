export * from './embedding.js';
export * from './errors.js';
export * from './input-limits.js';
export * from './model.js';
export * from './task.js';
export * from './vector.js';
export * from './health.js';
export * from './principal.js';

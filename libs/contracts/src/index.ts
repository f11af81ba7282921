export * from './envelope.js';
export * from './events/index.js';
export * from './ids.js';
export * from './json-schema.js';
export * from './parse.js';
export * from './subjects.js';
export * from './time.js';

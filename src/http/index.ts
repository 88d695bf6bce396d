// The shared HTTP semantics: no import of anything else in this project, so the SDK can ship with only this.
export * from './status.ts';
export * from './problem.ts';
export * from './problem-types.ts';
export * from './retry-after.ts';
export * from './www-authenticate.ts';
export * from './etag.ts';
export * from './staged-close.ts';
export * from './prefer.ts';
export * from './leaks.ts';
export * from './wire.ts';

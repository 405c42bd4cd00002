// What vigil.config.ts imports: `import { defineConfig, ... } from 'vigil'`.
export { defineConfig } from './core/config/index.ts';
export type { VigilConfig, VigilConfigInput } from './core/config/index.ts';

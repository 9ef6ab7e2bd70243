/** The built-in kernel variants, registered on import. */
export { BASE } from './base.js';
export { SDEI_V3 } from './sdei-v3.js';
export { SDEI_V4 } from './sdei-v4.js';
export { FINAL } from './final.js';
export { defineVariant, getVariant, variantNames, listVariants, resolveVariant, variantChain, type KernelVariant } from './registry.js';

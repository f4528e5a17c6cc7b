import { version as packageVersion } from '../../package.json';

/** The product version, from package.json (inlined by the bundler). */
export const VERSION: string = packageVersion;

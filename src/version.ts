/** The version of tfjs-drop-path: written from package.json by scripts/sync-version.js. */
export const version = '0.4.0';

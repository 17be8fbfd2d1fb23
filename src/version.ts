/** The version of tfjs-drop-path (tested against package.json). */
export const version = '0.4.0';

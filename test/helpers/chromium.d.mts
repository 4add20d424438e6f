export declare const DEFAULT_CHROMIUM: string;
/** The problem with the Chromium binary the tests would use, as one line, or null if it is usable. */
export declare function chromiumProblem(env?: NodeJS.ProcessEnv): string | null;
/** The Chromium binary to launch; throws the one-line problem if there is none. */
export declare function chromiumPath(env?: NodeJS.ProcessEnv): string;

/** Tollgate's version; a test keeps it equal to package.json's. */
export const VERSION = '0.1.0'

/** What Tollgate puts in `Server` and `Via`, in the place Kong puts `kong/<version>`. */
export const SERVER_TOKEN = `tollgate/${VERSION}`

/** The plugin SDK's version; a plugin's `sdk` range must accept it. */
export const SDK_VERSION = '0.1.0'

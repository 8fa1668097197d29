export * from '../dist/sdk/src/index.js'

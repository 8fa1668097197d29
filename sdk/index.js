// The compiled SDK lives with the gateway's build (npm install compiles it into ../dist).
export * from '../dist/sdk/src/index.js'

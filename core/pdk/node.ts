// kong.node: this gateway node (Kong's kong/pdk/node.lua).

export interface KongNode {
  getId(): string
}

export function makeNode (env: { readonly nodeId: string }): KongNode {
  return { getId: () => env.nodeId }
}

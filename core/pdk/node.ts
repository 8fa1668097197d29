// kong.node: this gateway node (Kong's kong/pdk/node.lua).

export interface KongNode {
  /**
   * The node's id; never phase-checked, as it is known before any request is.
   * @phases rewrite, access, header_filter, body_filter, log
   */
  getId(): string
}

export function makeNode (env: { readonly nodeId: string }): KongNode {
  return { getId: () => env.nodeId }
}

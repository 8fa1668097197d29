// The upstream request path, by Kong's v0 algorithm (kong/router/utils.lua
// get_upstream_uri_v0); path_handling v1 is ignored under traditional_compatible, so here too.

/**
 * @param base    service.path, or '/'
 * @param path    the normalized request path
 * @param prefix  what the route's path matched (strip_path on), else '/'
 * @param strip   the route's strip_path and it matched by path
 */
export function upstreamPath (base: string, path: string, prefix: string, strip: boolean): string {
  if (!strip) {
    if (base.endsWith('/')) return base + path.slice(1)
    return path === '/' ? base : base + path
  }
  let postfix = path.slice(prefix.length)
  // A postfix that would climb out of the prefix is dropped.
  if (postfix.startsWith('./')) postfix = postfix.slice(2)
  else if (postfix.startsWith('../')) postfix = postfix.slice(3)
  else if (postfix === '.' || postfix === '..') postfix = ''
  if (base.endsWith('/')) {
    if (postfix === '') {
      if (base === '/') return '/'
      return path.endsWith('/') ? base : base.slice(0, -1)
    }
    return postfix.startsWith('/') ? base.slice(0, -1) + postfix : base + postfix
  }
  if (postfix === '') return path.length > 1 && path.endsWith('/') ? `${base}/` : base
  return postfix.startsWith('/') ? base + postfix : `${base}/${postfix}`
}

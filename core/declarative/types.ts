// The shapes shared by the parts of declarative configuration (Kong's kong.yml): the parser
// and flattener (parse.ts, flatten.ts) produce a DeclarativeConfig; DB-less loading
// (load.ts), db_import, export, diff and sync (export.ts, diff.ts) consume it.

import type { Entity } from '../store/index.js'

/** The formats Kong reads; 1.1 and 2.1 are migrated to 3.0 on load (route paths). */
export const FORMAT_VERSIONS = ['1.1', '2.1', '3.0'] as const
export type FormatVersion = typeof FORMAT_VERSIONS[number]

/**
 * A parsed, validated and flattened declarative configuration: what Kong's
 * `declarative.parse_table` returns.
 */
export interface DeclarativeConfig {
  /**
   * md5 (hex) of the raw text; for a config given as an object, of its canonical JSON.
   * An empty config hashes to 32 zeros, as Kong's `/status` shows it.
   */
  hash: string
  /** `_transform` (default true): whether entity transformations still have to run. */
  transform: boolean
  /**
   * Every entity of the file, flattened: nested children taken out of their parents and
   * given the parent's `{ id }`, references by name resolved to `{ id }`, ids given or
   * derived (Kong's uuid v5) or random, defaults filled in, `_comment`/`_ignore` dropped.
   * Keyed by entity name, in dependency order (parents before children), each list in file
   * order. `created_at`/`updated_at` are kept when the file gives them, absent otherwise.
   */
  entities: Map<string, Entity[]>
}

/** Options of `parseDeclarative`. */
export interface ParseOptions {
  /**
   * The file the text came from: its extension picks the parser as in Kong (`.json` JSON
   * only, `.yml`/`.yaml` YAML only, anything else refused). Without it (a POST body, a
   * config string), JSON is tried first, then YAML.
   */
  filename?: string
}

// What `tollgate config init` writes: a declarative configuration that parses as it is
// (only the two metadata keys are live) and shows, commented out, how each kind of entity
// Tollgate knows is written. Same purpose as Kong's kong/templates/kong_yml.lua; the text
// is Tollgate's own.

export const SAMPLE_KONG_YML = `# A declarative configuration for Tollgate, in Kong's kong.yml format. With it:
# - tollgate config parse kong.yml: check it;
# - tollgate config diff kong.yml: what a sync would change in the store;
# - tollgate config sync kong.yml: make the store hold exactly this file;
# - tollgate config db_import kong.yml: add or replace what the file lists, keep the rest;
# - with database = off and declarative_config = kong.yml, it is loaded at every start;
# - POSTed to the Admin API's /config (DB-less mode), it replaces the configuration.
#
# Keys that start with an underscore are metadata; every other top-level key is a list
# of entities of one type.

# Required: the format of this file. "3.0" is current; "1.1" and "2.1" files are read
# too (their route paths are converted).
_format_version: "3.0"

# Optional, true by default: whether values still need the transformations an entity
# applies when it is written through the Admin API. Exports say false.
_transform: true

# Notes for people: _comment (a string) and _ignore (a list of anything) are accepted here
# and inside any entity, and are not loaded.
_comment: Uncomment the examples below and adapt them.

# --- services, with routes and plugins nested under them ---------------------------------
# A nested entity belongs to its parent: no need to name the service in the route.
#
# services:
# - name: orders
#   url: http://orders.internal:8080/api
#   tags: [team-orders]
#   routes:
#   - name: orders-route
#     paths: [/orders]
#     methods: [GET, POST]
#   plugins:
#   - name: key-auth
#     config:
#       key_names: [apikey]

# --- top-level entities refer to others by name or by id ----------------------------------
#
# routes:
# - name: orders-admin
#   service: orders
#   hosts: [admin.example.test]
#   paths: [/admin]

# --- consumers, with their credentials and plugins -----------------------------------------
# A credential without an id gets a new random id at every load (as in Kong); give it an
# id when you import the file more than once.
#
# consumers:
# - username: alice
#   keyauth_credentials:
#   - key: alice-secret-key
#   plugins:
#   - name: rate-limiting
#     config:
#       minute: 60
#       policy: local

# --- plugins on several scopes at once must be top-level ----------------------------------
# A plugin for one consumer on one service cannot be nested under either.
#
# plugins:
# - name: rate-limiting
#   service: orders
#   consumer: alice
#   config:
#     second: 5
# - name: proxy-cache
#   config:
#     strategy: memory

# --- upstreams and their targets, for load balancing --------------------------------------
# A service whose host is an upstream's name is balanced over its targets.
#
# upstreams:
# - name: orders.upstream
#   algorithm: round-robin
#   targets:
#   - target: 10.0.0.11:8080
#     weight: 100
#   - target: 10.0.0.12:8080
#     weight: 50
`

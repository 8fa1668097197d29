// Load balancing over an upstream's targets: algorithms, DNS resolution of hostname
// targets, and the request's hash value. Health checks (health*.ts) drive availability
// through Balancer.setAvailable (health-checker.ts: state and scheduling; health-probe.ts: one probe).
export { Balancer, NO_PEER_MESSAGE, addressHealth, targetHealth } from './balancer.js'
export type { AddressListener, BalancerOptions, BalancerStatus, BalancerTarget, BalancerUpstream, TargetHealth, TargetStatus, WeightStatus } from './balancer.js'
export type { PeerAddress } from './address.js'
export { parseTarget, DEFAULT_TARGET_PORT } from './address.js'
export type { AlgorithmName } from './algorithm.js'
export { DnsContext, parseHosts } from './dns.js'
export type { DnsAnswer, DnsOptions, DnsResolver } from './dns.js'
export { compileHashValue, hashValue } from './hash-value.js'
export type { HashOn, HashRequest, HashSettings, HashValue } from './hash-value.js'
export { xxhash32 } from './xxhash32.js'
export { HealthChecker, activeOn, checksOn, isHealthy, passiveOn } from './health-checker.js'
export type { CheckTarget, HealthCheckerOptions, HealthListener, Healthchecks, InternalHealth, PassiveOutcome, RoundListener, RoundMode } from './health-checker.js'
export { requestHead, startProbe } from './health-probe.js'
export type { Probe, ProbeOutcome, ProbeSpec, ProbeType } from './health-probe.js'

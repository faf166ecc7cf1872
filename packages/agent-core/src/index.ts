/**
 * @lantern/agent-core — the agent without a UI: sources, detector, spool, transport and
 * the headless `lantern-agent`. The Electron shell (apps/agent) only wires this to Electron.
 */
export type {
  ActiveWindow,
  ClipboardSource,
  RawScreenshot,
  ScreenGrabber,
  SessionInfo,
  SessionSource,
  Source,
  TextEdit,
  TypingSource,
  WindowSource,
} from './sources/source.ts';
export { Agent, type AgentLogEvent, type AgentOptions } from './agent.ts';
export { buildCapture, screenshotDecision, type ScreenshotDecision } from './detector/capture.ts';
export { Detector, type DetectorOptions, type Finding } from './detector/detector.ts';
export { AgentError, type AgentErrorCode } from './errors.ts';
export {
  CACHED_POLICY_FILE,
  LOCAL_POLICY_FILE,
  PolicyStore,
  builtInPolicy,
} from './policy/policy-store.ts';
export {
  CollectorLink,
  agentSocketUrl,
  type CollectorLinkOptions,
  type LinkState,
  type Outbound,
  type OutboundQueue,
} from './transport/collector-link.ts';
export {
  IDENTITY_FILE,
  IdentitySchema,
  enrol,
  readIdentity,
  writeIdentity,
  type Identity,
} from './transport/enrol.ts';
export { PushSource } from './sources/push-source.ts';
export {
  Spool,
  SpoolError,
  loadOrCreateSpoolKey,
  type SpoolEntry,
  type SpoolStats,
} from './spool/index.ts';
export * from './screenshot/index.ts';
export * from './sources/linux/index.ts';
export { AGENT_VERSION, runAgentCli } from './cli.ts';

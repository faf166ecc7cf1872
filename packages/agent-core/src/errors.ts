import { LanternError } from '@lantern/protocol';

/** Error codes raised by the agent; messages say what to do and never hold captured text. */
export type AgentErrorCode =
  | 'AGENT_CONFIG_INVALID'
  | 'COLLECTOR_UNREACHABLE'
  | 'ENROL_REFUSED'
  | 'DEVICE_REVOKED'
  | 'CREDENTIAL_REJECTED'
  | 'PROTOCOL_UNSUPPORTED'
  | 'POLICY_FILE_INVALID'
  | 'DISPLAY_UNAVAILABLE';

export class AgentError extends LanternError<AgentErrorCode> {
  constructor(code: AgentErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'AgentError';
  }
}

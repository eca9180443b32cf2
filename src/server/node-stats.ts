// The node's operation counters, as stats reports them: one record every part adds to.

export interface NodeStats {
  reads: number;
  writes: number;
  redirects: number;
  badRequests: number;
  unknownCommands: number;
  backupFailures: number;
  expired: number;
  connectionsAccepted: number;
  connectionsRefused: number;
  protocolErrors: number;
  /** Failed client logins (auth). */
  loginsFailed: number;
  /** Client commands refused by the users gate (not logged in, or outside the user's role). */
  notAllowed: number;
  /** Node commands refused on connections that have not proven the cluster secret. */
  nodeCommandsRefused: number;
  /** Node handshakes refused at node_proof (a wrong proof: another secret, or none). */
  nodeAuthFailed: number;
  /** Buckets this node took over after the death of their primary (failovers it decided). */
  failovers: number;
}

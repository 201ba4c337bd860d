/**
 * Every way the service closes a socket, with the code and reason of SPEC §5. Clients decide from the code
 * whether to reconnect: 1000 and 4500 mean "do not come back".
 */
export const CLOSE = {
  invalidAuth: { code: 1008, reason: "Invalid authentication" },
  tokenExpired: { code: 1008, reason: "Token expired" },
  connectionLimit: { code: 1008, reason: "Connection limit exceeded" },
  rateLimit: { code: 1008, reason: "Rate limit exceeded" },
  tryAgainLater: { code: 1013, reason: "Try again later" },
  invalidData: { code: 1003, reason: "Invalid data format" },
  tooBig: { code: 1009, reason: "Message too big" },
  slowConsumer: { code: 4008, reason: "Slow consumer" },
  disconnectedByAdmin: { code: 4500, reason: "Disconnected by administrator" },
  shuttingDown: { code: 1001, reason: "Server shutting down" },
} as const;

export type CloseCause = keyof typeof CLOSE;

/**
 * The one error type routes throw; `app.onError` turns it into `{"error": {"code", "message", "issues"?}}`.
 */
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";

export interface ValidationIssue {
  path: string;
  message: string;
}

export class ApiError extends HTTPException {
  constructor(
    status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly issues?: ValidationIssue[],
  ) {
    super(status, { message });
    this.name = "ApiError";
  }
}

/** zod issues as `{path, message}` pairs for a 422. */
export function issuesOf(
  error: { issues: Array<{ path: PropertyKey[]; message: string }> },
): ValidationIssue[] {
  return error.issues.map((i) => ({ path: i.path.map(String).join("."), message: i.message }));
}

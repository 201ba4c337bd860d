/**
 * Development sign-in from a page: `POST /api/dev/session` sets the session cookie, then the page reloads as
 * that user. Shared by the `/admin` access notice and the demo dashboard.
 */

/** Signs in as `userId` and reloads (null); when that fails, says why (`"404"`, `"network error"`) and stays. */
export async function devSignIn(userId: string): Promise<string | null> {
  const res = await fetch("/api/dev/session", {
    method: "POST",
    headers: { "content-type": "application/json" },
    credentials: "same-origin",
    body: JSON.stringify({ userId }),
  }).catch(() => null);
  // Read the answer to its end first: reloading while its body is in flight aborts the request.
  await res?.arrayBuffer().catch(() => null);
  if (!res?.ok) return res ? String(res.status) : "network error";
  location.reload();
  return null;
}

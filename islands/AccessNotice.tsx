/**
 * The `/admin` 401 and 403 pages: why the panel is not shown and, in development, a button per demo user to
 * sign in as (any demo user on the 401 page, an admin on the 403 page). A button posts to
 * `POST /api/dev/session`, which sets the session cookie, then reloads the page. Hydrated from
 * `/islands/access_notice_entry.js` (no inline script, so a strict Content-Security-Policy holds).
 */
import { useState } from "preact/hooks";
import type { Identity } from "../lib/auth.ts";
import { devSignIn } from "./dev_sign_in.ts";

export interface AccessNoticeProps {
  heading: string;
  message: string;
  /** Demo users offered for sign-in; empty outside development. */
  signInAs: readonly Identity[];
}

/** The notice; its sign-in buttons work once hydrated. */
export default function AccessNotice({ heading, message, signInAs }: AccessNoticeProps) {
  const [failure, setFailure] = useState("");

  async function signIn(userId: string) {
    const failure = await devSignIn(userId);
    if (failure) setFailure(`Sign-in failed (${failure}); try again.`);
  }

  return (
    <main class="card page">
      <h1>{heading}</h1>
      <p>{message}</p>
      {signInAs.length > 0 && (
        <section aria-labelledby="dev-sign-in">
          <h2 id="dev-sign-in">Development sign-in</h2>
          {signInAs.map((u) => (
            <p key={u.userId}>
              <button type="button" data-user={u.userId} onClick={() => signIn(u.userId)}>
                Sign in as {u.name} ({u.role})
              </button>
            </p>
          ))}
          <p role="status">{failure}</p>
        </section>
      )}
    </main>
  );
}

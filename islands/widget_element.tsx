/**
 * `/widget.js`: defines `<jasaweb-notifications>`, a custom element with an open shadow root holding the
 * `NotificationWidget` island. Attributes: `token-url` (the host app's endpoint answering `POST` with
 * `{token, connectionUrl}`; without it this service's `/api/websocket/token` with the session cookie) and
 * `service-url` (this service's origin; by default where this script was loaded from). It dispatches
 * `realtime:notification` (detail: the frame) and `realtime:status` (detail: `{status}`) on itself; both
 * bubble out of the shadow root to the host page.
 */
import { effect } from "@preact/signals";
import { render } from "preact";
import { createRealtimeClient, type RealtimeClient } from "../lib/client/realtime_client.ts";
import NotificationWidget from "./NotificationWidget.tsx";

const TAG = "jasaweb-notifications";

class JasawebNotifications extends HTMLElement {
  #client: RealtimeClient | null = null;
  #cleanups: (() => void)[] = [];

  connectedCallback() {
    if (this.#client) return;
    const shadow = this.shadowRoot ?? this.attachShadow({ mode: "open" });
    const service = new URL(this.getAttribute("service-url") ?? import.meta.url).origin;
    const tokenAttr = this.getAttribute("token-url");
    const client = createRealtimeClient({
      // The host's endpoint is resolved against the host page; ours against this script's origin.
      tokenUrl: tokenAttr ? new URL(tokenAttr, document.baseURI).href : `${service}/api/websocket/token`,
      apiUrl: service,
    });
    this.#client = client;
    let loaded = false;
    this.#cleanups = [
      client.onNotification((frame) => this.#emit("realtime:notification", frame)),
      effect(() => {
        const status = client.status.value;
        this.#emit("realtime:status", { status });
        // The stored list and unread count, once the first connection proves the token works.
        if (status === "connected" && !loaded) {
          loaded = true;
          client.load().catch(() => {});
        }
      }),
    ];
    render(<NotificationWidget client={client} />, shadow);
  }

  disconnectedCallback() {
    for (const cleanup of this.#cleanups) cleanup();
    this.#cleanups = [];
    if (this.shadowRoot) render(null, this.shadowRoot);
    this.#client?.dispose();
    this.#client = null;
  }

  #emit(type: string, detail: unknown) {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }
}

if (!customElements.get(TAG)) customElements.define(TAG, JasawebNotifications);
